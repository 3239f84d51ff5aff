package dev.aded.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import dev.aded.core.Cancellation;
import dev.aded.core.DeviceMemoryException;
import dev.aded.core.GenerationConfig;
import dev.aded.core.GenerationResult;
import dev.aded.core.Generator;
import dev.aded.core.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Running out of device memory is an exception the caller can catch and recover from, naming what did not fit.
 * On the CPU the "device" is the host: the sizes asked for here are ones the kernel refuses at once (beyond RAM and
 * swap, or beyond the address space), so nothing is ever touched or swapped.
 */
class DeviceMemoryTest {

    private static LlamaConfig config(int vocab, int hidden, int layers, int heads, int headDim, int maxPositions) {
        return new LlamaConfig("llama", vocab, hidden, 8, layers, heads, heads, headDim, 1e-5, maxPositions, true,
                false, LlamaConfig.RopeScaling.plain(10000), new int[0]);
    }

    @Test
    void weightsTooLargeForTheDeviceAreACatchableError() {
        // An embedding of 2^30 × 2^16 floats is 256 TiB: more than x86-64's user address space, refused everywhere.
        LlamaConfig huge = config(1 << 30, 1 << 16, 1, 1, 2, 256);
        DeviceMemoryException e = assertThrows(DeviceMemoryException.class,
                () -> LlamaModel.random(huge, Device.cpu(), 1).close());
        String msg = e.getMessage();
        assertTrue(msg.contains("the weights of a random model") && msg.contains("does not fit in the memory of cpu"),
                msg);
        assertTrue(msg.contains("TiB"), "the size should be named: " + msg);
        // The process goes on: a model that fits loads and answers.
        try (LlamaModel small = LlamaModel.random(config(64, 8, 1, 2, 4, 64), Device.cpu(), 1)) {
            assertEquals(64, small.vocabSize());
        }
    }

    @Test
    void aBatchTooLargeForTheDeviceNamesItsSlots() throws IOException {
        assumeTrue(!"1".equals(Files.readString(Path.of("/proc/sys/vm/overcommit_memory")).trim()),
                "vm.overcommit_memory=1 would let a 1 TiB allocation succeed and then exhaust the host");
        try (LlamaModel model = LlamaModel.random(config(64, 8, 128, 256, 2, 1 << 21), Device.cpu(), 7)) {
            model.batching(64, 1 << 21);
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> model.newSession(16));
            assertTrue(e.getMessage().contains("a batch of 64 slots of " + (1 << 21) + " tokens")
                    && e.getMessage().contains("run fewer generations at once"), e.getMessage());
        }
    }

    @Test
    void aKvCacheTooLargeForTheDeviceFailsTheCallNotTheModel() throws IOException {
        // 128 layers × 2^21 positions × 512 (key and value heads) × 2 dims in f32: a 1 TiB cache. The kernel refuses
        // it outright unless it was told to overcommit without limit, in which case the zeroing would page it in.
        assumeTrue(!"1".equals(Files.readString(Path.of("/proc/sys/vm/overcommit_memory")).trim()),
                "vm.overcommit_memory=1 would let a 1 TiB allocation succeed and then exhaust the host");
        try (LlamaModel model = LlamaModel.random(config(64, 8, 128, 256, 2, 1 << 21), Device.cpu(), 7);
             Generator generator = Generator.builder(model, null).build()) {
            int tensors = NativeMemory.liveTensors(model);
            int[] prompt = {1, 2, 3};
            GenerationConfig tooLong = GenerationConfig.builder().maxNewTokens((1 << 21) - 8).mode(Mode.AR).build();
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class,
                    () -> generator.generateTokens(prompt, tooLong, null, new Cancellation()));
            String msg = e.getMessage();
            // prompt + new tokens + the bonus token, all in one cache
            int capacity = prompt.length + tooLong.maxNewTokens() + 1;
            assertTrue(msg.contains("a KV cache of " + capacity + " tokens (1024.0 GiB)") && msg.contains("cpu"), msg);
            assertEquals(tensors, NativeMemory.liveTensors(model), "the failed session left tensors behind");

            GenerationConfig small = GenerationConfig.builder().maxNewTokens(8).mode(Mode.AR).build();
            GenerationResult first = generator.generateTokens(prompt, small, null, new Cancellation());
            assertEquals(8, first.tokens().length);
            // Same seed, same weights: the failure changed nothing the next call could see.
            GenerationResult again = generator.generateTokens(prompt, small, null, new Cancellation());
            assertEquals(java.util.Arrays.toString(first.tokens()), java.util.Arrays.toString(again.tokens()));
        }
    }
}
