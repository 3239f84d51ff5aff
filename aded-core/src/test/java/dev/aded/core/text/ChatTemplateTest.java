package dev.aded.core.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
    /** Zephyr's template as published in its tokenizer_config.json. */
    private static final String ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
            + "{{ '<|user|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n"
            + "{{ '<|system|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n"
            + "{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n"
            + "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    private static final List<ChatMessage> CONVERSATION =
            List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"));

    @Test
    void rendersAHuggingFaceTemplateWithTrimmedBlocks() {
        String out = ChatTemplate.of(ZEPHYR, "<s>", "</s>").render(CONVERSATION, true);
        assertEquals("<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n", out);
    }

    @Test
    void readsTheTemplateFromTokenizerConfigAndFallsBackToTheBuiltIn(@TempDir Path dir) throws Exception {
        assertTrue(ChatTemplate.load(StreamDecoderTest.MODEL).isBuiltIn());
        String builtIn = ChatTemplate.load(StreamDecoderTest.MODEL).render(CONVERSATION, true);
        assertEquals("### System:\nBe brief.\n\n### User:\nHi\n\n### Assistant:\n", builtIn);

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<s>\"},"
                + " \"eos_token\": \"</s>\", \"chat_template\": [{\"name\": \"default\", \"template\":"
                + " \"{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}\"}]}");
        ChatTemplate t = ChatTemplate.load(dir);
        assertEquals("<s>[system]Be brief.[user]Hi", t.render(CONVERSATION, false));
    }

    @Test
    void raiseExceptionInATemplateBecomesAClearError() {
        ChatTemplate t = ChatTemplate.of("{{ raise_exception('roles must alternate') }}", "", "");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.render(CONVERSATION, true));
        assertTrue(e.getMessage().contains("roles must alternate"), e.getMessage());
    }
}
