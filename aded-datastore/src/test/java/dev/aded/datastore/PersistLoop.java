package dev.aded.datastore;

import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The child process of {@link PersistCrashTest}: learns random tokens over a base datastore and persists the merged
 * counts to a target file, again and again, until it is killed. After each completed persist it prints the file's
 * tokens-counted figure, so the parent knows the newest version that must survive a kill.
 *
 * <p>Arguments: base datastore, target file, random seed.
 */
public final class PersistLoop {
    private PersistLoop() {}

    public static void main(String[] args) throws Exception {
        try (Datastore base = Datastore.open(Path.of(args[0]))) {
            AdaptiveCounts counts = new AdaptiveCounts(base);
            SplittableRandom random = new SplittableRandom(Long.parseLong(args[2]));
            int[] said = new int[2000];
            System.out.println("started");
            System.out.flush();
            while (true) {
                for (int i = 0; i < said.length; i++) {
                    said[i] = random.nextInt(base.vocabSize());
                }
                counts.observe(said, 0, said.length);
                DatastoreInfo info = counts.persist(Path.of(args[1]));
                System.out.println("persisted " + info.tokensCounted());
                System.out.flush();
            }
        }
    }
}
