package dev.aded.examples.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import dev.aded.core.GenerationStats;

/** The JSON form of {@link GenerationStats}, the same in every command. */
final class StatsJson {
    private StatsJson() {}

    static JsonObject of(GenerationStats s) {
        JsonObject o = new JsonObject();
        o.addProperty("mode", s.mode().id());
        o.addProperty("prompt_tokens", s.promptTokens());
        o.addProperty("new_tokens", s.newTokens());
        o.addProperty("steps", s.steps());
        o.addProperty("mean_accepted_tokens", s.meanAcceptedTokens());
        o.addProperty("tokens_per_second", s.tokensPerSecond());
        o.addProperty("prefill_ms", s.prefillNanos() / 1e6);
        o.addProperty("draft_ms", s.draftNanos() / 1e6);
        o.addProperty("verify_ms", s.verifyNanos() / 1e6);
        o.addProperty("total_ms", s.totalNanos() / 1e6);
        o.addProperty("mean_nodes_per_step", s.meanNodesPerStep());
        o.add("accepted_per_step", new Gson().toJsonTree(s.acceptedPerStep()));
        o.add("nodes_per_step", new Gson().toJsonTree(s.nodesPerStep()));
        o.add("predicted_per_step", new Gson().toJsonTree(s.predictedPerStep()));
        return o;
    }
}
