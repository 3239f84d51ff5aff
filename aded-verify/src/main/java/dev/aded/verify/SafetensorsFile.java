package dev.aded.verify;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * One {@code .safetensors} file, memory-mapped: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw data. Tensors are handed out as slices of the mapping, so the
 * weights are never copied onto the Java heap.
 */
final class SafetensorsFile {
    /** One tensor's place in the file. */
    record Entry(String name, String dtype, long[] shape, ByteBuffer data, Path file) {
        long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    private SafetensorsFile(Path file) {
        this.file = file;
    }

    /** @throws IllegalArgumentException naming the file when it is missing, truncated or malformed */
    static SafetensorsFile open(Path file) {
        SafetensorsFile st = new SafetensorsFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new IllegalArgumentException(file + " is truncated: " + size + " bytes");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > 100_000_000) {
                throw new IllegalArgumentException(file + " is not a safetensors file (header length " + headerLen
                        + ", file " + size + " bytes)");
            }
            if (headerLen > size - 8) {
                throw new IllegalArgumentException(file + " is truncated: its header needs " + (8 + headerLen)
                        + " bytes, the file has " + size);
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            ch.read(header, 8);
            JsonObject json = JsonParser.parseString(new String(header.array(), StandardCharsets.UTF_8))
                    .getAsJsonObject();
            long dataStart = 8 + headerLen;
            for (Map.Entry<String, JsonElement> e : json.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                st.entries.put(e.getKey(), st.entry(e.getKey(), e.getValue(), ch, dataStart, size - dataStart));
            }
            return st;
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("missing weights file " + file, e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (IllegalStateException | UnsupportedOperationException | com.google.gson.JsonParseException e) {
            throw new IllegalArgumentException(file + " has a malformed header: " + e.getMessage(), e);
        }
    }

    /** Maps each tensor on its own: one mapping cannot exceed 2 GB, a shard can. */
    private Entry entry(String name, JsonElement json, FileChannel ch, long dataStart, long dataBytes)
            throws IOException {
        if (!json.isJsonObject()) {
            throw malformed(name, "is not an object");
        }
        JsonObject o = json.getAsJsonObject();
        if (!(o.get("dtype") instanceof JsonPrimitive dt && dt.isString())) {
            throw malformed(name, "has no \"dtype\" string");
        }
        String dtype = dt.getAsString();
        long[] shape = longs(name, o, "shape", -1);
        long[] range = longs(name, o, "data_offsets", 2);
        long begin = range[0];
        long end = range[1];
        if (begin < 0 || end < begin || end > dataBytes) {
            throw new IllegalArgumentException(file + ": tensor " + name + " lies outside the file (bytes " + begin
                    + ".." + end + " of " + dataBytes + "): truncated?");
        }
        long expected;
        try {
            long elements = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw malformed(name, "has a negative dimension in its shape " + Arrays.toString(shape));
                }
                elements = Math.multiplyExact(elements, d);
            }
            expected = Math.multiplyExact(elements, bytesPer(name, dtype));
        } catch (ArithmeticException e) {
            throw malformed(name, "has a shape too large to exist " + Arrays.toString(shape));
        }
        if (expected != end - begin) {
            throw new IllegalArgumentException(file + ": tensor " + name + " holds " + (end - begin)
                    + " bytes, its dtype and shape need " + expected);
        }
        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin);
        return new Entry(name, dtype, shape, map.order(ByteOrder.LITTLE_ENDIAN), file);
    }

    /** A JSON array of whole numbers; {@code size} -1 takes any length. */
    private long[] longs(String name, JsonObject o, String key, int size) {
        if (!(o.get(key) instanceof JsonArray a) || (size >= 0 && a.size() != size)) {
            throw malformed(name, "has no \"" + key + "\" array" + (size >= 0 ? " of " + size : ""));
        }
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            OptionalLong v = LlamaConfig.wholeNumber(a.get(i));
            if (v.isEmpty()) {
                throw malformed(name, "has a non-integer in \"" + key + "\": " + a);
            }
            out[i] = v.getAsLong();
        }
        return out;
    }

    private IllegalArgumentException malformed(String tensor, String problem) {
        return new IllegalArgumentException(file + " has a malformed header: tensor " + tensor + " " + problem);
    }

    private long bytesPer(String name, String dtype) {
        return switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException(file + ": tensor " + name + " has unsupported tensor dtype "
                    + dtype + " (supported: F32, F16, BF16)");
        };
    }

    Map<String, Entry> entries() {
        return entries;
    }

    Path path() {
        return file;
    }

    /** Opens the files of a model folder: one {@code model.safetensors} or the shards its index names. */
    static Map<String, Entry> openModel(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        Map<String, Entry> all = new LinkedHashMap<>();
        if (Files.isRegularFile(single)) {
            all.putAll(open(single).entries());
            return all;
        }
        if (!Files.isRegularFile(index)) {
            throw new IllegalArgumentException("no weights in " + dir + ": neither model.safetensors nor"
                    + " model.safetensors.index.json exists");
        }
        if (!(LlamaConfig.readJson(index).get("weight_map") instanceof JsonObject weightMap)) {
            throw new IllegalArgumentException(index + " has no \"weight_map\" object");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
            if (!(e.getValue() instanceof JsonPrimitive p && p.isString())) {
                throw new IllegalArgumentException(index + ": the shard of " + e.getKey() + " is not a file name: "
                        + e.getValue());
            }
            String shardName = p.getAsString();
            Path shard = dir.resolve(shardName);
            // The index is data: it must not make the library open files outside the model folder.
            if (!shard.toAbsolutePath().normalize().startsWith(dir.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException(index + " names shard " + shardName + " for " + e.getKey()
                        + ", which is not a file of the model folder");
            }
            if (!Files.isRegularFile(shard)) {
                throw new IllegalArgumentException(index + " names shard " + shardName + " for " + e.getKey()
                        + ", but " + shard + " does not exist");
            }
            SafetensorsFile f = shards.computeIfAbsent(shardName, n -> open(shard));
            Entry t = f.entries().get(e.getKey());
            if (t == null) {
                throw new IllegalArgumentException(index + " places " + e.getKey() + " in " + shardName
                        + ", which does not hold it");
            }
            all.put(e.getKey(), t);
        }
        return all;
    }
}
