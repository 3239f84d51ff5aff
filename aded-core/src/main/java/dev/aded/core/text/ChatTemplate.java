package dev.aded.core.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Formats a conversation into the prompt text a model was trained on: the Jinja {@code chat_template} of its
 * {@code tokenizer_config.json} (rendered by Jinjava with Hugging Face's settings: trimmed blocks, stripped block
 * indentation, {@code raise_exception}), or a plain built-in format for models without one.
 *
 * <p>Jinjava implements Jinja's filters and tests, not Python's string methods: templates that call
 * {@code .strip()} and the like on values fail with an error naming the template.
 */
public final class ChatTemplate {
    private static final String BUILT_IN = "{% for m in messages %}### {{ m['role'] | capitalize }}:\n"
            + "{{ m['content'] }}\n\n{% endfor %}{% if add_generation_prompt %}### Assistant:\n{% endif %}";

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final boolean builtIn;
    private final Jinjava jinjava;

    private ChatTemplate(String template, String bosToken, String eosToken, boolean builtIn) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.builtIn = builtIn;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    /** Reads the template of a model folder, falling back to the built-in format when there is none. */
    public static ChatTemplate load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return new ChatTemplate(BUILT_IN, "", "", true);
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonObject cfg = JsonParser.parseReader(r).getAsJsonObject();
            String template = templateOf(cfg.get("chat_template"));
            String bos = tokenText(cfg.get("bos_token"));
            String eos = tokenText(cfg.get("eos_token"));
            return template == null ? new ChatTemplate(BUILT_IN, bos, eos, true)
                    : new ChatTemplate(template, bos, eos, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + " is not a valid tokenizer config: " + e.getMessage(), e);
        }
    }

    /** A template given as text, as in {@code tokenizer_config.json}. */
    public static ChatTemplate of(String jinja, String bosToken, String eosToken) {
        return new ChatTemplate(jinja, bosToken, eosToken, false);
    }

    /** Renders the conversation, ending with the assistant's turn opened when {@code addGenerationPrompt}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", messages.stream().map(ChatMessage::asMap).toList());
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        try {
            return jinjava.render(template, ctx);
        } catch (FatalTemplateErrorsException e) {
            throw new IllegalArgumentException("chat template failed: " + describe(e), e);
        }
    }

    /** The innermost messages of each error, where a template's own raise_exception text ends up. */
    private static String describe(FatalTemplateErrorsException e) {
        StringBuilder sb = new StringBuilder();
        for (TemplateError err : e.getErrors()) {
            Throwable t = err.getException();
            String msg = err.getMessage();
            while (t != null) {
                if (t.getMessage() != null) {
                    msg = t.getMessage();
                }
                t = t.getCause();
            }
            sb.append(sb.length() == 0 ? "" : "; ").append("line ").append(err.getLineno()).append(": ").append(msg);
        }
        return sb.length() == 0 ? e.getMessage() : sb.toString();
    }

    /** True when the model has no template of its own. */
    public boolean isBuiltIn() {
        return builtIn;
    }

    /** Called from templates as {@code raise_exception('...')}, as Hugging Face's renderer allows. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("chat template refused the conversation: " + message);
    }

    private static String templateOf(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonPrimitive()) {
            return e.getAsString();
        }
        // A list of named templates: the one called "default" is the chat template.
        for (JsonElement t : e.getAsJsonArray()) {
            JsonObject o = t.getAsJsonObject();
            if ("default".equals(o.get("name").getAsString())) {
                return o.get("template").getAsString();
            }
        }
        return null;
    }

    private static String tokenText(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return "";
        }
        return e.isJsonPrimitive() ? e.getAsString() : e.getAsJsonObject().get("content").getAsString();
    }
}
