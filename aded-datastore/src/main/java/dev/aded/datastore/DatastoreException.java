package dev.aded.datastore;

import java.nio.file.Path;

/** A datastore file that cannot be used, with the file and the problem in the message. */
public class DatastoreException extends IllegalArgumentException {
    public DatastoreException(Path file, String problem) {
        super("datastore " + file + ": " + problem);
    }

    public DatastoreException(Path file, String problem, Throwable cause) {
        super("datastore " + file + ": " + problem, cause);
    }
}
