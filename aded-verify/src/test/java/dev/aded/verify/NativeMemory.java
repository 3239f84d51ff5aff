package dev.aded.verify;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Native memory as the leak tests see it, two ways: the tensors a model's DJL manager still tracks, and the
 * process's resident set less what the JVM itself has committed (heap and non-heap), which is what an operator
 * would see grow. Shared with aded-examples' tests through this module's test jar.
 */
public final class NativeMemory {
    private NativeMemory() {}

    /** Tensors alive under the model's manager: its weights plus whatever sessions and steps hold. */
    public static int liveTensors(LlamaModel model) {
        return model.manager.getManagedArrays().size();
    }

    /** Resident kB outside the JVM's own heap and non-heap areas, after a garbage collection. */
    public static long residentKb() {
        System.gc();
        MemoryMXBean jvm = ManagementFactory.getMemoryMXBean();
        long jvmKb = (jvm.getHeapMemoryUsage().getCommitted() + jvm.getNonHeapMemoryUsage().getCommitted()) / 1024;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) - jvmKb;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
