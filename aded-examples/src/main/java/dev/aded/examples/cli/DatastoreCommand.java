package dev.aded.examples.cli;

import com.google.gson.GsonBuilder;
import dev.aded.datastore.ConsoleProgress;
import dev.aded.datastore.Datastore;
import dev.aded.datastore.DatastoreBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Builds and inspects tri-gram datastores. */
@Command(name = "datastore", mixinStandardHelpOptions = true, description = "Build or inspect a tri-gram datastore.",
        subcommands = {DatastoreCommand.Build.class, DatastoreCommand.Info.class})
final class DatastoreCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Count tri-grams of a corpus with a model's tokenizer into a datastore file.")
    static final class Build implements Callable<Integer> {
        @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
                description = "model folder (or tokenizer.json) whose tokenizer the model uses")
        Path tokenizer;

        @Option(names = "--input", required = true, arity = "1..*", paramLabel = "PATH",
                description = "files or folders (folders: text files by extension; .jsonl: one 'text' per line)")
        List<Path> inputs = new ArrayList<>();

        @Option(names = "--exclude", paramLabel = "GLOB", description = "leave out matching paths (repeatable)")
        List<String> excludes = new ArrayList<>();

        @Option(names = "--output", required = true, paramLabel = "FILE")
        Path output;

        @Option(names = "--top-k", paramLabel = "K", defaultValue = "12", description = "continuations kept per context")
        int topK;

        @Option(names = "--threads", paramLabel = "N", description = "tokenizer threads (default: all cores)")
        Integer threads;

        @Option(names = "--min-count", paramLabel = "N", defaultValue = "1",
                description = "drop continuations seen fewer times")
        int minCount;

        @Override
        public Integer call() throws IOException {
            DatastoreBuilder b = DatastoreBuilder.create().tokenizer(tokenizer).inputs(inputs).topK(topK)
                    .minCount(minCount).progress(new ConsoleProgress(System.err));
            excludes.forEach(b::exclude);
            if (threads != null) {
                b.threads(threads);
            }
            b.build(output);
            return 0;
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Print a datastore's header as JSON.")
    static final class Info implements Callable<Integer> {
        @Parameters(paramLabel = "FILE")
        Path file;

        @Option(names = "--verify", description = "also read the whole file against its checksum")
        boolean verify;

        @Override
        public Integer call() {
            try (Datastore d = Datastore.open(file)) {
                if (verify) {
                    d.verify();
                }
                System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(d.info().toJson()));
            }
            return 0;
        }
    }
}
