package dev.aded.examples.cli;

import dev.aded.core.Cancellation;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.GenerationStats;
import dev.aded.core.Mode;
import dev.aded.core.text.ChatMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import sun.misc.Signal;

/**
 * An interactive chat in the terminal: streamed answers, history through the model's chat template, and slash
 * commands. Ctrl-C stops the answer being written; end of input (Ctrl-D) leaves.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with a model in the terminal. Commands: /reset, /mode ar|pld|aded, /stats, /help, /quit.")
final class ChatCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    private final List<ChatMessage> history = new ArrayList<>();
    private volatile Cancellation current;
    private GenerationStats lastStats;
    private double arTokensPerSecond;

    @Override
    public Integer call() throws IOException {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Generator p = model.open()) {
            GenerationConfig config = p.chatConfig(sampling.config());
            Mode mode = config.mode() != null ? config.mode() : p.defaultMode();
            installInterruptHandler();
            out.printf("aded chat: %s on %s, mode %s. /help for commands, Ctrl-D to leave.%n", p.model().name(),
                    p.model().device(), mode.id());
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null) {
                    out.println();
                    return 0;
                }
                line = line.strip();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("/")) {
                    String[] cmd = line.split("\\s+", 2);
                    switch (cmd[0]) {
                        case "/quit", "/exit" -> {
                            return 0;
                        }
                        case "/reset" -> {
                            history.clear();
                            out.println("(history cleared)");
                        }
                        case "/mode" -> {
                            try {
                                Mode next = Mode.parse(cmd.length > 1 ? cmd[1] : "");
                                if (p.supports(next)) {
                                    mode = next;
                                    out.println("(mode " + mode.id() + ")");
                                } else {
                                    out.println("(mode " + next.id() + " needs a datastore: start with --datastore)");
                                }
                            } catch (IllegalArgumentException e) {
                                out.println("(" + e.getMessage() + ")");
                            }
                        }
                        case "/stats" -> out.println(statsLine());
                        case "/help" -> out.println("/reset clears the history; /mode ar|pld|aded switches drafting;"
                                + " /stats shows the last answer's speed; /quit leaves. Ctrl-C stops an answer.");
                        default -> out.println("(unknown command " + cmd[0] + "; /help lists them)");
                    }
                    continue;
                }
                history.add(ChatMessage.user(line));
                current = new Cancellation();
                GenerationResult r = p.chat(history, config.toBuilder().mode(mode).build(),
                        piece -> out.print(piece), current);
                current = null;
                out.println(r.finishReason() == dev.aded.core.FinishReason.CANCELLED ? " [stopped]" : "");
                history.add(ChatMessage.assistant(r.text()));
                lastStats = r.stats();
                if (mode == Mode.AR) {
                    arTokensPerSecond = r.stats().tokensPerSecond();
                }
            }
        }
    }

    private String statsLine() {
        if (lastStats == null) {
            return "(no answer yet)";
        }
        String speedup = arTokensPerSecond > 0 && lastStats.mode() != Mode.AR
                ? String.format(Locale.ROOT, "speedup %.2fx over the last ar answer",
                        lastStats.tokensPerSecond() / arTokensPerSecond)
                : String.format(Locale.ROOT, "speedup at most %.2fx (tokens per forward pass; answer once in"
                        + " /mode ar for a measured baseline)", lastStats.meanAcceptedTokens());
        return String.format(Locale.ROOT, "%.1f tokens/s, %.2f mean accepted tokens per step, %s",
                lastStats.tokensPerSecond(), lastStats.meanAcceptedTokens(), speedup);
    }

    /** Ctrl-C cancels the answer being generated; between answers it leaves, as usual. */
    private void installInterruptHandler() {
        try {
            Signal.handle(new Signal("INT"), sig -> {
                Cancellation c = current;
                if (c != null) {
                    c.cancel();
                } else {
                    System.exit(130);
                }
            });
        } catch (IllegalArgumentException e) {
            // No SIGINT on this platform or the JVM reserves it: Ctrl-C then ends the program, as by default.
        }
    }
}
