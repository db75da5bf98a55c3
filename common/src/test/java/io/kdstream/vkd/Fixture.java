package io.kdstream.vkd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** A golden fixture written by common/src/test/python/make_vkd_fixtures.py (safetensors layout). */
final class Fixture {
    private record Entry(String dtype, long[] shape, ByteBuffer data) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final JsonNode metadata;

    private Fixture(byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = Math.toIntExact(buf.getLong(0));
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, headerLen, java.nio.charset.StandardCharsets.UTF_8));
        int base = 8 + headerLen;
        metadata = header.get("__metadata__");
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode v = e.getValue();
            long[] shape = new long[v.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = v.get("shape").get(i).asLong();
            }
            int from = base + v.get("data_offsets").get(0).asInt();
            int to = base + v.get("data_offsets").get(1).asInt();
            ByteBuffer slice = ByteBuffer.wrap(bytes, from, to - from).slice().order(ByteOrder.LITTLE_ENDIAN);
            entries.put(e.getKey(), new Entry(v.get("dtype").asText(), shape, slice));
        }
    }

    static Fixture load(String name) {
        try (InputStream in = Fixture.class.getResourceAsStream("/vkd/" + name + ".safetensors")) {
            if (in == null) {
                throw new IllegalStateException("missing fixture " + name);
            }
            return new Fixture(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    boolean has(String key) {
        return entries.containsKey(key);
    }

    String meta(String key) {
        return metadata.get(key).asText();
    }

    double[] doubles(String key) {
        Entry e = entry(key);
        ByteBuffer b = e.data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (e.dtype) {
            case "F64": {
                double[] out = new double[b.remaining() / 8];
                b.asDoubleBuffer().get(out);
                return out;
            }
            case "F32": {
                float[] f = new float[b.remaining() / 4];
                b.asFloatBuffer().get(f);
                double[] out = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    out[i] = f[i];
                }
                return out;
            }
            case "I64": {
                long[] l = new long[b.remaining() / 8];
                b.asLongBuffer().get(l);
                double[] out = new double[l.length];
                for (int i = 0; i < l.length; i++) {
                    out[i] = l[i];
                }
                return out;
            }
            default:
                throw new IllegalStateException("dtype " + e.dtype);
        }
    }

    long[] longs(String key) {
        Entry e = entry(key);
        long[] l = new long[e.data.remaining() / 8];
        e.data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(l);
        return l;
    }

    Shape shape(String key) {
        return new Shape(entry(key).shape);
    }

    /** The tensor as an NDArray of {@code dtype} (inputs are float32-exact, so either dtype is exact). */
    NDArray array(NDManager m, String key, DataType dtype) {
        NDArray a = m.create(doubles(key), shape(key));
        return dtype == DataType.FLOAT64 ? a : a.toType(dtype, false);
    }

    private Entry entry(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            throw new IllegalArgumentException("fixture has no tensor " + key);
        }
        return e;
    }
}
