package dev.aded.examples.server;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.aded.core.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One {@code /v1/chat/completions} or {@code /v1/completions} request, its fields checked for type and range. A
 * field the server does not know is ignored, as clients send many optional ones; a known one it cannot honour
 * ({@code tools}, {@code functions}) is refused rather than silently dropped.
 *
 * @param messages the conversation (chat), else null
 * @param prompt the text to continue (completions), else null
 * @param maxTokens null when the client left it to the server
 * @param seed null when the client gave none
 * @param mode {@code ar}, {@code pld} or {@code aded}; null for the server's default
 * @param logprobs how many likeliest alternatives each generated token reports with its own log-probability, or
 *     -1 for no log-probabilities (chat: {@code logprobs: true} with {@code top_logprobs}; completions: the integer
 *     {@code logprobs})
 */
record CompletionRequest(boolean chat, List<Message> messages, String prompt, Integer maxTokens, double temperature,
        double topP, Long seed, List<String> stop, boolean stream, int n, String mode, int logprobs) {

    /** One turn of the conversation. */
    record Message(String role, String content) {}

    /** At most this many choices per request: each is a full generation. */
    static final int MAX_N = 8;
    private static final Set<String> ROLES = Set.of("system", "user", "assistant");

    /** Parses a request body; {@code chat} tells which endpoint it came to. */
    static CompletionRequest parse(String body, boolean chat) {
        JsonElement root;
        try {
            root = JsonParser.parseString(body);
        } catch (JsonParseException e) {
            throw new ApiException(400, "invalid_request_error", "invalid_json", null,
                    "the request body is not valid JSON: " + rootMessage(e));
        }
        if (!root.isJsonObject()) {
            throw new ApiException(400, "invalid_request_error", "invalid_json", null,
                    "the request body must be a JSON object");
        }
        JsonObject o = root.getAsJsonObject();
        string(o, "model");
        refuse(o, "tools", "tools are not supported");
        refuse(o, "functions", "functions are not supported");
        int logprobs = logprobs(o, chat);
        List<Message> messages = null;
        String prompt = null;
        if (chat) {
            messages = messages(o);
        } else {
            prompt = prompt(o);
        }
        Integer maxTokens = integer(o, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = integer(o, "max_tokens");
        }
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.invalid("max_tokens", "max_tokens must be at least 1, got " + maxTokens);
        }
        Double temperature = number(o, "temperature");
        if (temperature != null && !(temperature >= 0 && temperature <= 2)) {
            throw ApiException.invalid("temperature", "temperature must be between 0 and 2, got " + temperature);
        }
        Double topP = number(o, "top_p");
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw ApiException.invalid("top_p", "top_p must be in (0, 1], got " + topP);
        }
        Long seed = o.has("seed") && !o.get("seed").isJsonNull() ? longValue(o, "seed") : null;
        Integer n = integer(o, "n");
        if (n != null && (n < 1 || n > MAX_N)) {
            throw ApiException.invalid("n", "n must be between 1 and " + MAX_N + ", got " + n);
        }
        Boolean stream = bool(o, "stream");
        String mode = string(o, "mode");
        if (mode != null && !Set.of("ar", "pld", "aded").contains(mode)) {
            throw ApiException.invalid("mode", "mode must be ar, pld or aded, got '" + mode + "'");
        }
        return new CompletionRequest(chat, messages, prompt, maxTokens, temperature == null ? 1 : temperature,
                topP == null ? 1 : topP, seed, stop(o), stream != null && stream, n == null ? 1 : n, mode, logprobs);
    }

    /**
     * The alternatives per token asked for, or -1 for none: chat takes {@code logprobs} (a boolean) and
     * {@code top_logprobs}, completions the legacy integer {@code logprobs}.
     */
    private static int logprobs(JsonObject o, boolean chat) {
        int max = GenerationConfig.MAX_TOP_LOGPROBS;
        if (!chat) {
            refuse(o, "top_logprobs", "top_logprobs belongs to chat completions; here logprobs is the count");
            Integer k = integer(o, "logprobs");
            if (k != null && (k < 0 || k > max)) {
                throw ApiException.invalid("logprobs", "logprobs must be between 0 and " + max + ", got " + k);
            }
            return k == null ? -1 : k;
        }
        Boolean on = bool(o, "logprobs");
        Integer k = integer(o, "top_logprobs");
        if (k != null && (k < 0 || k > max)) {
            throw ApiException.invalid("top_logprobs", "top_logprobs must be between 0 and " + max + ", got " + k);
        }
        if (k != null && (on == null || !on)) {
            throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs: true");
        }
        return on != null && on ? (k == null ? 0 : k) : -1;
    }

    private static List<Message> messages(JsonObject o) {
        JsonElement e = o.get("messages");
        if (e == null || e.isJsonNull()) {
            throw ApiException.invalid("messages", "messages is required: a non-empty array of {role, content}");
        }
        if (!e.isJsonArray() || e.getAsJsonArray().isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array of {role, content}");
        }
        List<Message> out = new ArrayList<>();
        JsonArray array = e.getAsJsonArray();
        for (int i = 0; i < array.size(); i++) {
            String where = "messages[" + i + "]";
            if (!array.get(i).isJsonObject()) {
                throw ApiException.invalid(where, where + " must be an object with role and content");
            }
            JsonObject m = array.get(i).getAsJsonObject();
            String role = string(m, "role", where + ".role");
            if (role == null || !ROLES.contains(role)) {
                throw ApiException.invalid(where + ".role", where + ".role must be system, user or assistant, got "
                        + (role == null ? "nothing" : "'" + role + "'"));
            }
            out.add(new Message(role, content(m.get("content"), where + ".content")));
        }
        return out;
    }

    /** A message's content: a string, or an array of text parts as newer clients send. */
    private static String content(JsonElement e, String where) {
        if (e != null && isString(e)) {
            return e.getAsString();
        }
        if (e != null && e.isJsonArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonElement part : e.getAsJsonArray()) {
                JsonObject p = part.isJsonObject() ? part.getAsJsonObject() : null;
                if (p == null || !"text".equals(string(p, "type", where + "[].type")) || !p.has("text")
                        || !isString(p.get("text"))) {
                    throw ApiException.invalid(where, where + ": only text parts ({\"type\":\"text\",\"text\":...}) are"
                            + " supported");
                }
                text.append(p.get("text").getAsString());
            }
            return text.toString();
        }
        throw ApiException.invalid(where, where + " must be a string or an array of text parts");
    }

    private static String prompt(JsonObject o) {
        JsonElement e = o.get("prompt");
        if (e != null && e.isJsonArray() && e.getAsJsonArray().size() == 1) {
            e = e.getAsJsonArray().get(0);
        }
        if (e == null || e.isJsonNull()) {
            throw ApiException.invalid("prompt", "prompt is required: a non-empty string");
        }
        if (!isString(e)) {
            throw ApiException.invalid("prompt", "prompt must be a string (or an array of one string)");
        }
        if (e.getAsString().isEmpty()) {
            throw ApiException.invalid("prompt", "prompt must not be empty");
        }
        return e.getAsString();
    }

    private static List<String> stop(JsonObject o) {
        JsonElement e = o.get("stop");
        if (e == null || e.isJsonNull()) {
            return List.of();
        }
        List<String> stops = new ArrayList<>();
        if (e.isJsonArray()) {
            for (JsonElement s : e.getAsJsonArray()) {
                stops.add(isString(s) ? s.getAsString() : null);
            }
        } else {
            stops.add(isString(e) ? e.getAsString() : null);
        }
        if (stops.size() > 4 || stops.contains(null) || stops.contains("")) {
            throw ApiException.invalid("stop", "stop must be a non-empty string or an array of up to 4 of them");
        }
        return stops;
    }

    private static void refuse(JsonObject o, String field, String why) {
        JsonElement e = o.get(field);
        if (e != null && !e.isJsonNull() && !(e.isJsonArray() && e.getAsJsonArray().isEmpty())) {
            throw new ApiException(400, "invalid_request_error", "unsupported_parameter", field, why);
        }
    }

    private static boolean isString(JsonElement e) {
        return e.isJsonPrimitive() && e.getAsJsonPrimitive().isString();
    }

    private static String string(JsonObject o, String field) {
        return string(o, field, field);
    }

    private static String string(JsonObject o, String field, String where) {
        JsonElement e = typed(o, field, where, JsonPrimitive::isString, "a string");
        return e == null ? null : e.getAsString();
    }

    private static Boolean bool(JsonObject o, String field) {
        JsonElement e = typed(o, field, field, JsonPrimitive::isBoolean, "true or false");
        return e == null ? null : e.getAsBoolean();
    }

    private static Double number(JsonObject o, String field) {
        JsonElement e = typed(o, field, field, JsonPrimitive::isNumber, "a number");
        return e == null ? null : e.getAsDouble();
    }

    /**
     * The field's value, null when absent or JSON null; a 400 naming {@code where} when it is not a primitive that
     * {@code ok} accepts.
     */
    private static JsonElement typed(JsonObject o, String field, String where, Predicate<JsonPrimitive> ok,
            String must) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !ok.test(e.getAsJsonPrimitive())) {
            throw ApiException.invalid(where, where + " must be " + must + ", got " + e);
        }
        return e;
    }

    private static Integer integer(JsonObject o, String field) {
        if (!o.has(field) || o.get(field).isJsonNull()) {
            return null;
        }
        long v = longValue(o, field);
        if (v != (int) v) {
            throw ApiException.invalid(field, field + " is out of range: " + v);
        }
        return (int) v;
    }

    private static long longValue(JsonObject o, String field) {
        JsonElement e = o.get(field);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            try {
                return e.getAsBigDecimal().longValueExact();
            } catch (ArithmeticException notWhole) {
                // reported below with the value
            }
        }
        throw ApiException.invalid(field, field + " must be an integer, got " + e);
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage();
    }
}
