package dev.aded.core;

/**
 * A generation refused because the generator's queue is full: as many generations as its {@link Admission} allows
 * are running and as many are waiting. Nothing was started; try again later.
 */
public final class GeneratorBusyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    GeneratorBusyException(int running, int waiting, int maxQueue) {
        super("busy: " + running + " generations running and " + waiting + " waiting, the queue's bound of "
                + maxQueue + "; retry later");
    }
}
