package dev.aded.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;

/**
 * How the step scheduler groups concurrent generations into passes, on a simulated device whose pass costs a fixed
 * time plus a time for each tree it holds (a 7B model's pass costs about the same for any number of trees, its
 * weights read once a pass; code-15m's grows with them) and generations whose acceptance and drafting take a fixed
 * host time: the trees a pass holds, the passes a round takes, the device's busy share and the wall time. No GPU and
 * no model: the scheduler's own behaviour alone. A pass is given as {@code fixed} or {@code fixed+perTree} µs; it
 * spins on the leader's core ({@code spin}, the default) or leaves it to the others ({@code sleep}: on this 2-core
 * CPU, 8 generations that sleep through passes stand for 64 on a 16-core GPU host, whose waiting leader takes a
 * sixteenth of its cores).
 *
 * <pre>
 * mvn -B -q -o test-compile -pl aded-core
 * mvn -B -q dependency:build-classpath -pl aded-core -Dmdep.includeScope=test -Dmdep.outputFile=/tmp/core-cp.txt
 * java -cp aded-core/target/classes:aded-core/target/test-classes:$(cat /tmp/core-cp.txt) \
 *     dev.aded.core.SchedulerBench [generations] [steps] [pass µs[+µs a tree],...] [host µs a step] [spin|sleep]
 * </pre>
 */
public final class SchedulerBench {
    private static final int[] SCRIPT = new int[4096];

    static {
        for (int i = 0; i < SCRIPT.length; i++) {
            SCRIPT[i] = 10 + i % 97;
        }
    }

    private SchedulerBench() {}

    public static void main(String[] args) throws Exception {
        int generations = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        String[] passes = (args.length > 2 ? args[2] : "1000,10000").split(",");
        long hostMicros = args.length > 3 ? Long.parseLong(args[3]) : 100;
        boolean sleep = args.length > 4 && args[4].equals("sleep");
        System.out.printf(Locale.ROOT, "%d generations of %d steps, %d µs of host work a step, %d cores, passes %s%n",
                generations, steps, hostMicros, Runtime.getRuntime().availableProcessors(), sleep ? "sleep" : "spin");
        for (int round = 0; round < 2; round++) { // the first round warms the JIT up
            for (String pass : passes) {
                String[] parts = pass.split("\\+");
                long perTree = parts.length > 1 ? Long.parseLong(parts[1]) : 0;
                run(generations, steps, Long.parseLong(parts[0]), perTree, sleep, hostMicros, round == 1);
            }
        }
    }

    private static void run(int generations, int steps, long passMicros, long treeMicros, boolean sleep,
            long hostMicros, boolean print) throws Exception {
        List<Integer> passes = new CopyOnWriteArrayList<>();
        ScriptedModel model = new ScriptedModel(SCRIPT, SCRIPT.length).simulatingPasses(passMicros, treeMicros, sleep,
                passes);
        StepScheduler scheduler = new StepScheduler(model, new ReentrantLock(true), StepScheduler.DEFAULT_MAX_NODES);
        ExecutorService pool = Executors.newFixedThreadPool(generations);
        CyclicBarrier start = new CyclicBarrier(generations);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int g = 0; g < generations; g++) {
                ModelSession session = model.newSession(steps + 8);
                running.add(pool.submit(() -> generate(scheduler, session, steps, hostMicros, start)));
            }
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        double wallMs = (System.nanoTime() - t0) / 1e6;
        if (print) {
            double trees = passes.stream().mapToInt(Integer::intValue).average().orElse(0);
            double busyMs = model.passedNanos() / 1e6;
            System.out.printf(Locale.ROOT, "pass %6d+%d µs: %4d passes (%d in one group), %.2f trees a pass,"
                    + " %.1f ms (%.1f in one group, passes alone), busy %.2f%n", passMicros, treeMicros,
                    passes.size(), steps, trees, wallMs, steps * (passMicros + generations * treeMicros) / 1e3,
                    busyMs / wallMs);
        }
    }

    /** One generation: single-node trees, each step's acceptance spinning for the host time. */
    private static Void generate(StepScheduler scheduler, ModelSession session, int steps, long hostMicros,
            CyclicBarrier start) throws Exception {
        scheduler.join();
        try {
            start.await();
            session.prefill(SCRIPT, 0, 1);
            DraftTree tree = new DraftTree(1);
            for (int i = 0; i < steps; i++) {
                tree.reset(SCRIPT[1 + i]);
                scheduler.step(session, tree, false, null, logits -> {
                    session.commit(new int[] {0}, 1);
                    ScriptedModel.spin(hostMicros * 1000);
                    return 1;
                });
            }
            return null;
        } finally {
            scheduler.leave();
        }
    }
}
