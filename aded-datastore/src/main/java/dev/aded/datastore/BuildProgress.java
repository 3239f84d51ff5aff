package dev.aded.datastore;

/** Hears how a datastore build is going; called from one thread a few times a second, then once at the end. */
public interface BuildProgress {
    /**
     * @param filesDone files tokenized so far, of {@code filesTotal}
     * @param bytesDone input bytes read so far, of {@code bytesTotal}
     * @param tokens tokens counted so far
     * @param elapsedNanos time since the build started
     */
    void update(long filesDone, long filesTotal, long bytesDone, long bytesTotal, long tokens, long elapsedNanos);

    /** The build wrote its file. */
    default void finished(DatastoreInfo info, long elapsedNanos) {}
}
