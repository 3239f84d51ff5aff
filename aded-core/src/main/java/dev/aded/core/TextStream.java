package dev.aded.core;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A generation to pull text from: {@link #next()} blocks until the next piece is final, {@link #hasNext()} is false
 * once the generation ended. The generation runs ahead on the generator's threads; closing the stream early
 * cancels it. Use from one thread, in a try-with-resources block.
 *
 * <pre>{@code
 * try (TextStream stream = generator.stream(prompt, config)) {
 *     stream.forEachRemaining(System.out::print);
 *     System.out.println(stream.result().stats());
 * }
 * }</pre>
 */
public final class TextStream implements Iterator<String>, AutoCloseable {
    /** Marks the end of the pieces; compared by identity. */
    private static final String END = new String("end");

    private final BlockingQueue<String> pieces = new LinkedBlockingQueue<>();
    private final CompletableFuture<GenerationResult> future;
    private String next;

    TextStream(Generator generator, int[] prompt, GenerationConfig config) {
        this.future = generator.generateTokensAsync(prompt, config, new TextListener() {
            @Override
            public void onText(String piece) {
                pieces.add(piece);
            }

            @Override
            public void onComplete(GenerationResult result) {
                pieces.add(END);
            }

            @Override
            public void onError(Throwable error) {
                pieces.add(END);
            }
        });
    }

    /**
     * Waits for the next piece.
     *
     * @throws GenerationFailedException when the generation failed
     */
    @Override
    public boolean hasNext() {
        if (next == null) {
            try {
                next = pieces.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                close();
                throw new CancellationException("interrupted while waiting for text");
            }
        }
        if (next == END) {
            pieces.add(END);
            result(); // throws what the generation failed with
            return false;
        }
        return true;
    }

    @Override
    public String next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the generation has ended");
        }
        String piece = next;
        next = null;
        return piece;
    }

    /** Waits for the generation to end and returns its result (the whole text, the tokens, the statistics). */
    public GenerationResult result() {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the result");
        } catch (ExecutionException e) {
            throw new GenerationFailedException(e.getCause());
        }
    }

    /** Cancels the generation if it is still running; the text pulled so far stays valid. */
    @Override
    public void close() {
        future.cancel(true);
    }
}
