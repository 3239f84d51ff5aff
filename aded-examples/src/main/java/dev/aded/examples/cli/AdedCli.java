package dev.aded.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code aded} program: datastore tools, one-shot generation, chat, an HTTP server and benchmarks. */
@Command(name = "aded", mixinStandardHelpOptions = true, version = "aded 0.1.0",
        description = "Adaptive retrieval-based speculative decoding (ADED) on DJL/PyTorch.",
        subcommands = {DatastoreCommand.class, GenerateCommand.class, ChatCommand.class, ServeCommand.class,
                BenchCommand.class})
public final class AdedCli implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the program and returns its exit code: 0 done, 1 failed, 2 wrong usage. */
    public static int run(String... args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        quietLogging();
        CommandLine cli = new CommandLine(new AdedCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("aded " + cmd.getCommandName() + ": " + message(e));
            if (System.getenv("ADED_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("aded " + cmd.getCommandName() + ": " + e.getMessage());
            cmd.usage(cmd.getErr());
            return CommandLine.ExitCode.USAGE;
        });
        return cli.execute(args);
    }

    /**
     * Warnings and errors only, so that generated text and stats are not lost among DJL's start-up messages; set
     * here rather than in a simplelogger.properties, which would reach the logging of any application that has this
     * jar on its classpath. {@code -Dorg.slf4j.simpleLogger.defaultLogLevel=info} shows them again. DJL's CUDA probe
     * warns on every machine without a matching driver, and {@code --device gpu} reports a missing GPU itself.
     */
    private static void quietLogging() {
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        setIfAbsent("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
