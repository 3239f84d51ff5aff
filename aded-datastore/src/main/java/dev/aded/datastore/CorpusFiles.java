package dev.aded.datastore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Chooses the corpus files: every file named directly, and inside folders the text files among the extensions
 * below, skipping any path that matches an exclude glob (matched against the absolute path, so
 * {@code **}{@code /networkx/**} drops a package wherever it lies).
 */
final class CorpusFiles {
    static final Set<String> TEXT_EXTENSIONS = Set.of("py", "pyi", "txt", "md", "rst", "json", "jsonl", "c", "h",
            "cc", "cpp", "hpp", "java", "js", "ts", "go", "rs", "sh", "toml", "yaml", "yml", "cfg", "ini", "html",
            "css", "xml", "sql");

    private CorpusFiles() {}

    static List<Path> select(List<Path> inputs, List<String> excludes) {
        List<PathMatcher> matchers = excludes.stream()
                .map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
        List<Path> files = new ArrayList<>();
        for (Path input : inputs) {
            Path abs = input.toAbsolutePath().normalize();
            if (Files.isRegularFile(abs)) {
                if (!excluded(abs, matchers)) {
                    files.add(abs);
                }
            } else if (Files.isDirectory(abs)) {
                try (Stream<Path> walk = Files.walk(abs)) {
                    walk.filter(Files::isRegularFile).filter(CorpusFiles::isText).filter(p -> !excluded(p, matchers))
                            .sorted().forEach(files::add);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot list " + abs, e);
                }
            } else {
                throw new IllegalArgumentException("input " + input + " does not exist");
            }
        }
        return files;
    }

    private static boolean isText(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && TEXT_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static boolean excluded(Path p, List<PathMatcher> matchers) {
        for (PathMatcher m : matchers) {
            if (m.matches(p)) {
                return true;
            }
        }
        return false;
    }
}
