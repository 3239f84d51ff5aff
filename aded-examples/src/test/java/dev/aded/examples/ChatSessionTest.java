package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aded.core.Cancellation;
import dev.aded.core.ChatSession;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import dev.aded.core.text.ChatMessage;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A chat session reuses its cache across turns and still answers exactly what the stateless chat call answers for
 * the same conversation; a full context drops the oldest exchanges, never the system message.
 */
class ChatSessionTest {
    private static final String SYSTEM = "You write short Python functions.";
    private static final List<String> QUESTIONS = List.of("def add(a, b):", "def is_even(n):",
            "class Point:", "def reverse(s):");
    private static Generator generator;

    @BeforeAll
    static void open() {
        generator = EmbeddedModel.open();
    }

    @AfterAll
    static void close() {
        generator.close();
    }

    @Test
    void everyTurnEqualsTheStatelessChatOfTheSameConversation() {
        for (Mode mode : new Mode[] {Mode.AR, Mode.ADED}) {
            GenerationConfig config = GenerationConfig.builder().mode(mode).maxNewTokens(24).build();
            try (ChatSession chat = generator.newChat(SYSTEM)) {
                int cachedBefore = 0;
                for (String q : QUESTIONS) {
                    List<ChatMessage> history = chat.messages();
                    List<ChatMessage> asked = new java.util.ArrayList<>(history);
                    asked.add(ChatMessage.user(q));
                    GenerationResult expected = generator.chat(asked, config, null, new Cancellation());
                    GenerationResult got = chat.send(q, config);
                    assertArrayEquals(expected.tokens(), got.tokens(), mode + ", turn '" + q + "'");
                    assertEquals(expected.text(), got.text());
                    assertTrue(chat.cachedTokens() > cachedBefore, "the cache did not grow: " + chat.cachedTokens());
                    cachedBefore = chat.cachedTokens();
                }
                assertEquals(1 + 2 * QUESTIONS.size(), chat.messages().size());
                assertEquals(ChatMessage.system(SYSTEM), chat.messages().get(0));
            }
        }
    }

    @Test
    void aFullContextDropsTheOldestExchangesAndKeepsTheSystemMessage() {
        int context = generator.model().maxContext();
        // Each message alone takes about a third of the context, so a third exchange cannot fit beside two others.
        String longMessage = "x = [" + "1, ".repeat(context / 6) + "]";
        GenerationConfig config = GenerationConfig.builder().maxNewTokens(8).build();
        try (ChatSession chat = generator.newChat(SYSTEM)) {
            for (int i = 0; i < 3; i++) {
                chat.send(longMessage + " # " + i, config);
            }
            List<ChatMessage> kept = chat.messages();
            assertEquals(ChatMessage.system(SYSTEM), kept.get(0));
            assertTrue(kept.size() < 1 + 2 * 3, "nothing was dropped: " + kept.size() + " messages");
            assertEquals("user", kept.get(1).role());
            assertEquals(longMessage + " # 2", kept.get(kept.size() - 2).content());
            int[] rendered = generator.tokenizer().encode(generator.chatTemplate().render(kept, false),
                    generator.chatTemplate().isBuiltIn());
            assertTrue(rendered.length <= context, "the kept conversation overflows: " + rendered.length);
        }
    }
}
