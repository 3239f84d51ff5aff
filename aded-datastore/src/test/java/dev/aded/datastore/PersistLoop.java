package dev.aded.datastore;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The child process of {@link PersistCrashTest}: opens a datastore, learns random tokens over it and persists the
 * merged counts back over the same file, again and again, until it is killed, as an application that keeps learning
 * does. After each completed persist it prints the file's tokens-counted figure, so the parent knows the newest
 * version that must survive a kill.
 *
 * <p>Arguments: datastore file, random seed.
 */
public final class PersistLoop {
    private PersistLoop() {}

    public static void main(String[] args) throws Exception {
        try (Datastore base = Datastore.open(Path.of(args[0]))) {
            AdaptiveCounts counts = new AdaptiveCounts(base);
            SplittableRandom random = new SplittableRandom(Long.parseLong(args[1]));
            int[] said = new int[2000];
            System.out.println("started");
            System.out.flush();
            while (true) {
                for (int i = 0; i < said.length; i++) {
                    said[i] = random.nextInt(base.vocabSize());
                }
                counts.observe(said, 0, said.length);
                DatastoreInfo info = counts.persist(Path.of(args[0]));
                System.out.println("persisted " + info.tokensCounted());
                System.out.flush();
            }
        }
    }
}
