package dev.aded.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java example compiles and runs as printed: taken from the README's "Java API" section, compiled
 * against the library's classpath and run from the repository root in a JVM of its own, as a user would.
 */
class ReadmeExampleTest {
    private static final Pattern JAVA_BLOCK = Pattern.compile("## Java API\\s+```java\\n(.*?)```", Pattern.DOTALL);

    @Test
    void theReadmesJavaExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("aded.root", ".."));
        String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
        Matcher block = JAVA_BLOCK.matcher(readme);
        assertTrue(block.find(), "README.md has no ```java block under '## Java API'");
        Matcher name = Pattern.compile("public class (\\w+)").matcher(block.group(1));
        assertTrue(name.find(), "the README's example is not a whole class");
        Path source = dir.resolve(name.group(1) + ".java");
        Files.writeString(source, block.group(1), StandardCharsets.UTF_8);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int compiled = javac.run(null, diagnostics, diagnostics, "-cp", System.getProperty("java.class.path"),
                "-d", dir.toString(), source.toString());
        assertEquals(0, compiled, "the README's example does not compile:\n" + diagnostics);

        Process run = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-cp", dir + java.io.File.pathSeparator
                        + System.getProperty("java.class.path"), name.group(1))
                .directory(root.toFile()).redirectErrorStream(true).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(run.waitFor(3, TimeUnit.MINUTES), "the README's example did not end");
        assertEquals(0, run.exitValue(), "the README's example failed:\n" + out);
        List<String> lines = out.lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("aded: ") && l.contains("tok/s")),
                "no statistics line from the aded mode:\n" + out);
        int stats = lines.indexOf(lines.stream().filter(l -> l.startsWith("aded: ")).findFirst().orElseThrow());
        assertTrue(lines.subList(0, stats).stream().anyMatch(l -> !l.isBlank()), "no streamed text:\n" + out);
        assertTrue(lines.subList(stats + 1, lines.size()).stream().anyMatch(l -> !l.isBlank()),
                "no text from the async call:\n" + out);
    }
}
