package dev.aded.verify;

import ai.djl.ndarray.NDArray;
import com.sun.jna.NativeLibrary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * Native memory as the leak tests see it, two ways: the tensors a model's DJL manager still tracks, and the
 * process's resident set outside the Java heap and the JVM's own non-heap areas, which is what an operator would see
 * grow. Shared with aded-examples' tests through this module's test jar.
 */
public final class NativeMemory {
    private static final Pattern HEAP_RANGE = Pattern.compile("\\[0x([0-9a-f]+), 0x([0-9a-f]+)\\)");
    private static final Pattern MAPPING = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) .*");

    private NativeMemory() {}

    /** Tensors alive under the model's manager: its weights plus whatever sessions and steps hold. */
    public static int liveTensors(LlamaModel model) {
        return model.manager.getManagedArrays().size();
    }

    /**
     * The tensors alive under the model's manager, counted by shape and type: two censuses that differ say which
     * tensors were left behind, where a bare count only says how many.
     */
    public static SortedMap<String, Integer> tensorCensus(LlamaModel model) {
        SortedMap<String, Integer> census = new TreeMap<>();
        for (NDArray a : model.manager.getManagedArrays()) {
            census.merge(a.getShape() + " " + a.getDataType(), 1, Integer::sum);
        }
        return census;
    }

    /**
     * Resident kB outside the Java heap, the JVM's non-heap areas and its direct and mapped buffers, after a garbage
     * collection. The heap's own resident pages are read from /proc/self/smaps rather than taken as its committed
     * size: committed heap that was never touched is not resident, and a busy run touching more of it would
     * otherwise look like native growth. Direct buffers (DJL copies each step's inputs through one) wait for a
     * collection to be freed, so they are the JVM's to reclaim, not a native leak. What glibc's allocator holds
     * free (per-thread arenas keep what busy threads released) is handed back to the system first, so the figure is
     * memory in use, not the allocator's pools, whose size depends on how the threads happened to interleave.
     */
    public static long residentKb() {
        System.gc();
        try {
            // Direct buffers are freed by their cleaners, on a JVM thread, after the collection found them.
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        trimAllocator();
        long[] heap = heapRange();
        long total = 0;
        long inHeap = 0;
        boolean heapMapping = false;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                Matcher m = MAPPING.matcher(line);
                if (m.matches()) {
                    long start = Long.parseUnsignedLong(m.group(1), 16);
                    long end = Long.parseUnsignedLong(m.group(2), 16);
                    heapMapping = heap != null && start >= heap[0] && end <= heap[1];
                } else if (line.startsWith("Rss:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    total += kb;
                    inHeap += heapMapping ? kb : 0;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long heapKb = heap != null ? inHeap
                : ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1024;
        long buffersKb = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            buffersKb += pool.getMemoryUsed() / 1024; // direct and mapped buffers: the JVM's, freed through GC
        }
        return total - heapKb - buffersKb
                - ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getCommitted() / 1024;
    }

    /** glibc's malloc_trim(0): releases the free memory of every arena; absent on other C libraries. */
    private static void trimAllocator() {
        try {
            NativeLibrary.getInstance("c").getFunction("malloc_trim").invokeInt(new Object[] {0});
        } catch (UnsatisfiedLinkError e) {
            // musl and others have no malloc_trim; their pools then count as resident.
        }
    }

    /** The Java heap's reserved address range from the GC.heap_info diagnostic command (G1), or null. */
    private static long[] heapRange() {
        try {
            ObjectName dcmd = new ObjectName("com.sun.management:type=DiagnosticCommand");
            String info = (String) ManagementFactory.getPlatformMBeanServer().invoke(dcmd, "gcHeapInfo",
                    new Object[] {null}, new String[] {String[].class.getName()});
            List<String> lines = info.lines().toList();
            Matcher m = HEAP_RANGE.matcher(lines.isEmpty() ? "" : lines.get(0));
            if (lines.get(0).contains("garbage-first heap") && m.find()) {
                return new long[] {Long.parseUnsignedLong(m.group(1), 16), Long.parseUnsignedLong(m.group(2), 16)};
            }
        } catch (JMException | RuntimeException e) {
            // Not HotSpot, or another output format: fall back to the committed heap.
        }
        return null;
    }
}
