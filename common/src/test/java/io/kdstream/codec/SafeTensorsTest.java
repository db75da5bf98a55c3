package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.InvalidBatchException.Reason;

class SafeTensorsTest {

    @Test
    void layoutIsTheSafetensorsFormat() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.ofFloats(DType.F32, new int[] {2}, new float[] {1f, -2f}));
        tensors.put("b", Tensor.ofLongs(new int[] {1}, new long[] {7}));
        byte[] bytes = SafeTensors.encode(tensors, Map.of("k", "v"));

        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long n = buf.getLong();
        assertThat(n % 8).as("data section 8-byte aligned").isZero();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8).trim();
        assertThat(header).isEqualTo("{\"__metadata__\":{\"k\":\"v\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}");
        buf.position(8 + (int) n);
        assertThat(buf.getFloat()).isEqualTo(1f);
        assertThat(buf.getFloat()).isEqualTo(-2f);
        assertThat(buf.getLong()).isEqualTo(7L);
        assertThat(buf.remaining()).isZero();

        SafeTensors.Contents back = SafeTensors.decode(bytes);
        assertThat(back.tensors()).isEqualTo(tensors);
        assertThat(back.metadata()).containsExactly(Map.entry("k", "v"));
    }

    @Test
    void decodedTensorsAreViewsThatBehaveLikeOwnedTensors() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("u", Tensor.ofUnsignedBytes(new int[] {3}, new byte[] {1, (byte) 200, 3}));
        tensors.put("f", Tensor.ofFloats(DType.F16, new int[] {2, 2}, new float[] {0.5f, -1f, 2f, 65504f}));
        SafeTensors.Contents back = SafeTensors.decode(SafeTensors.encode(tensors, Map.of()));
        for (String name : tensors.keySet()) {
            Tensor view = back.tensors().get(name);
            Tensor owned = tensors.get(name);
            assertThat(view).isEqualTo(owned).hasSameHashCodeAs(owned);
            assertThat(view.toByteArray()).isEqualTo(owned.toByteArray());
            ByteBuffer b = view.buffer();
            assertThat(b.position()).isZero();
            assertThat(b.remaining()).isEqualTo(owned.byteSize());
        }
        assertThat(back.tensors().get("u").toLongs()).containsExactly(1L, 200L, 3L);
        assertThat(back.tensors().get("f").toFloats()).containsExactly(0.5f, -1f, 2f, 65504f);
        // re-encoding views writes their ranges only
        assertThat(SafeTensors.encode(back.tensors(), Map.of())).isEqualTo(SafeTensors.encode(tensors, Map.of()));
    }

    @Test
    void readsHeadersWrittenByOtherTools() {
        // Offsets out of header order and no padding, as hand-written or third-party files may have.
        String header = "{\"y\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                + "\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 6).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).putShort((short) 0x3c00).putShort((short) 0xc000).put((byte) 3).put((byte) 255);
        SafeTensors.Contents c = SafeTensors.decode(buf.array());
        assertThat(c.tensors().get("x").toFloats()).containsExactly(1f, -2f);
        assertThat(c.tensors().get("y").toLongs()).containsExactly(3L, 255L);
    }

    @Test
    void rejectsHostileOrBrokenValuesWithAReason() {
        assertReason(new byte[3], Reason.TRUNCATED);
        assertReason(withHeader("{}", Long.MAX_VALUE, 0), Reason.HEADER_LENGTH);
        assertReason(withHeader("{}", -1, 0), Reason.HEADER_LENGTH);
        assertReason(withHeader("{\"a\":", -0, 0), Reason.MALFORMED_HEADER);
        assertReason(withHeader("[1,2]", 0, 0), Reason.MALFORMED_HEADER);
        assertReason(withHeader("{\"a\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, 4),
                Reason.UNKNOWN_DTYPE);
        assertReason(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 0, 4),
                Reason.SHAPE_MISMATCH);
        assertReason(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 0, 8), Reason.BAD_OFFSETS);
        assertReason(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 8),
                Reason.BAD_OFFSETS);
        assertReason(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, 2),
                Reason.TRUNCATED);
        assertReason(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4000000000,4000000000],"
                + "\"data_offsets\":[0,4]}}", 0, 4), Reason.SHAPE_MISMATCH);
        assertReason(withHeader("{\"a\":1,\"a\":2}", 0, 0), Reason.MALFORMED_HEADER);
    }

    /** A value with the given JSON header; headerLen 0 means the true length. */
    private static byte[] withHeader(String json, long headerLen, int dataBytes) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(headerLen == 0 ? h.length : headerLen).put(h);
        return buf.array();
    }

    private static void assertReason(byte[] value, Reason reason) {
        assertThatThrownBy(() -> SafeTensors.decode(value))
                .isInstanceOfSatisfying(InvalidBatchException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
