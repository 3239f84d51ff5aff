package dev.aded.datastore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The temporary files that writing a datastore keeps beside its output (sorted runs, sections, the file renamed into
 * place). Each name carries the host and the process that made it, {@code .aded-HOST-PID-what….tmp}, so that a writer
 * can delete what a killed process of this host left behind without touching the files of a writer still at work,
 * on this host or on another one sharing the folder. A process that is gone cannot be writing; a live process whose
 * number was reused keeps the files a while longer, which is harmless. Containers that share a folder need distinct
 * host names: one could otherwise take another's live writer for ended, and that writer's build or persist would
 * fail with an I/O error, leaving its target as it was.
 */
final class TempFiles {
    private static final String PREFIX = ".aded-";
    private static final String SUFFIX = ".tmp";
    private static final String HOST = host();
    private static final String OWN = PREFIX + HOST + "-" + ProcessHandle.current().pid() + "-";

    private TempFiles() {}

    /** A new temporary file in {@code dir}, named for this host and process. */
    static Path create(Path dir, String what) throws IOException {
        return Files.createTempFile(dir, OWN + what, SUFFIX);
    }

    /**
     * Deletes the temporary files in {@code dir} whose process, on this host, has ended. A file that cannot be
     * deleted stays: clearing is a courtesy to the disk, never a reason to fail the write that called it.
     *
     * @return how many were deleted
     */
    static int deleteLeftovers(Path dir) {
        String hostPrefix = PREFIX + HOST + "-";
        int deleted = 0;
        // The host part holds no glob characters (see host()).
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, hostPrefix + "*" + SUFFIX)) {
            for (Path f : files) {
                long pid = pidOf(f.getFileName().toString(), hostPrefix.length());
                if (pid > 0 && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
                    deleted += Files.deleteIfExists(f) ? 1 : 0;
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // An unreadable folder, or a file that went meanwhile: the leftovers wait for the next writer.
        }
        return deleted;
    }

    /** The process number after the host in a temporary file's name, or -1 if the name has none. */
    private static long pidOf(String name, int from) {
        int end = name.indexOf('-', from);
        if (end <= from) {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(from, end));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** This host's name, as the kernel has it where it can be read, made safe for a file name. */
    private static String host() {
        String name;
        try {
            Path kernel = Path.of("/proc/sys/kernel/hostname");
            name = Files.isReadable(kernel) ? Files.readString(kernel).trim()
                    : InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            name = "localhost";
        }
        name = name.replaceAll("[^A-Za-z0-9.]", "_");
        return name.isEmpty() ? "localhost" : name;
    }
}
