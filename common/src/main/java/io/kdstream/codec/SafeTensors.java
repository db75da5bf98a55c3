package io.kdstream.codec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.kdstream.codec.InvalidBatchException.Reason;

/**
 * Reader and writer for the safetensors format (8-byte little-endian header length, a JSON
 * header with {@code dtype}, {@code shape} and {@code data_offsets} per tensor plus an optional
 * string map {@code __metadata__}, then the raw little-endian data), so that Python's
 * {@code safetensors} package, numpy or Rust read what kdstream writes and vice versa.
 *
 * <p>The reader trusts nothing in the value: every length and offset is checked against the
 * bytes actually present before use, so a hostile header can neither cause an out-of-memory
 * error nor an unchecked exception; every failure is an {@link InvalidBatchException}.
 */
public final class SafeTensors {

    /** Key of the free-form string metadata in the header. */
    public static final String METADATA_KEY = "__metadata__";

    /** Largest accepted JSON header, as in the reference implementation. */
    public static final int MAX_HEADER_BYTES = 100 * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private SafeTensors() {
    }

    /** Tensors in header order and the string metadata of one safetensors value. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** Encodes tensors (in iteration order) and metadata. */
    public static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (METADATA_KEY.equals(e.getKey())) {
                throw new IllegalArgumentException("'" + METADATA_KEY + "' is reserved and cannot name a tensor");
            }
            Tensor t = e.getValue();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + t.byteSize());
            offset += t.byteSize();
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode safetensors header", e);
        }
        // Pad the header with spaces so the data section starts 8-byte aligned, as the reference writer does.
        int headerLen = (json.length + 7) / 8 * 8;
        long total = 8L + headerLen + offset;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("encoded size " + total + " bytes exceeds a Java array");
        }
        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(headerLen);
        out.put(json);
        for (int i = json.length; i < headerLen; i++) {
            out.put((byte) ' ');
        }
        for (Tensor t : tensors.values()) {
            t.writeTo(out);
        }
        return out.array();
    }

    /**
     * Decodes and checks a value. The tensors are views of {@code value}, which must not be
     * modified afterwards.
     *
     * @throws InvalidBatchException with the reason the value is unusable
     */
    public static Contents decode(byte[] value) {
        if (value == null || value.length < 8) {
            throw new InvalidBatchException(Reason.TRUNCATED,
                    "value of " + (value == null ? 0 : value.length) + " bytes has no 8-byte header length");
        }
        long headerLen = ByteBuffer.wrap(value, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > value.length - 8L) {
            throw new InvalidBatchException(Reason.HEADER_LENGTH, "header length " + Long.toUnsignedString(headerLen)
                    + " does not fit a value of " + value.length + " bytes");
        }
        JsonNode header;
        try {
            header = JSON.readTree(value, 8, (int) headerLen);
        } catch (IOException e) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "header is not valid JSON: "
                    + firstLine(e.getMessage()));
        }
        if (header == null || !header.isObject()) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "header is not a JSON object");
        }
        int dataStart = 8 + (int) headerLen;
        int dataLen = value.length - dataStart;

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (METADATA_KEY.equals(field.getKey())) {
                readMetadata(field.getValue(), metadata);
            } else {
                entries.add(readEntry(field.getKey(), field.getValue(), dataLen));
            }
        }
        // The data section must be covered exactly: no overlaps, no holes, nothing past the end.
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin));
        long expected = 0;
        for (Entry e : byOffset) {
            if (e.begin != expected) {
                throw new InvalidBatchException(Reason.BAD_OFFSETS, "tensor '" + e.name + "' starts at " + e.begin
                        + (e.begin < expected ? ", overlapping the previous tensor" : ", leaving a hole") + " (expected "
                        + expected + ")");
            }
            expected = e.end;
        }
        if (expected != dataLen) {
            throw new InvalidBatchException(Reason.BAD_OFFSETS, "tensors cover " + expected
                    + " bytes of a data section of " + dataLen);
        }
        // Views, not copies: the value already belongs to the caller, and a copy per tensor cost
        // the student a full pass over every batch (docs/benchmarks.md, pipeline).
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            tensors.put(e.name, new Tensor(e.dtype, e.shape, value, dataStart + (int) e.begin, (int) (e.end - e.begin)));
        }
        return new Contents(tensors, metadata);
    }

    /** Writes a safetensors file. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Files.write(file, encode(tensors, metadata));
    }

    /** Reads a safetensors file; an invalid file raises {@link InvalidBatchException}. */
    public static Contents read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(file + " is " + size + " bytes; files over 2 GiB are not supported");
        }
        return decode(Files.readAllBytes(file));
    }

    private record Entry(String name, DType dtype, int[] shape, long begin, long end) {
    }

    private static void readMetadata(JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, METADATA_KEY + " is not an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw new InvalidBatchException(Reason.MALFORMED_HEADER,
                        METADATA_KEY + "." + m.getKey() + " is not a string");
            }
            out.put(m.getKey(), m.getValue().asText());
        }
    }

    private static Entry readEntry(String name, JsonNode node, int dataLen) {
        if (!node.isObject()) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "entry '" + name + "' is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "tensor '" + name + "' has no dtype");
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.asText()).orElseThrow(() ->
                new InvalidBatchException(Reason.UNKNOWN_DTYPE, "tensor '" + name + "' has unknown dtype '"
                        + dtypeNode.asText() + "'"));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > 16) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "tensor '" + name + "' has no valid shape");
        }
        int[] shape = new int[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new InvalidBatchException(Reason.SHAPE_MISMATCH, "tensor '" + name + "' has dimension "
                        + d + " that is not a non-negative int");
            }
            shape[i] = (int) d.asLong();
            numel *= shape[i];
            if (numel > dataLen) {
                // checked before it can overflow: a tensor larger than the data section cannot fit
                throw new InvalidBatchException(Reason.SHAPE_MISMATCH, "tensor '" + name + "' shape "
                        + shapeNode + " needs more bytes than the " + dataLen + "-byte data section holds");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw new InvalidBatchException(Reason.MALFORMED_HEADER, "tensor '" + name
                    + "' needs data_offsets [begin, end]");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new InvalidBatchException(end > dataLen ? Reason.TRUNCATED : Reason.BAD_OFFSETS, "tensor '" + name
                    + "' data_offsets [" + begin + ", " + end + "] outside the " + dataLen + "-byte data section");
        }
        if (end - begin != numel * dtype.bytes()) {
            throw new InvalidBatchException(Reason.SHAPE_MISMATCH, "tensor '" + name + "' is " + dtype + shapeNode
                    + " (" + numel * dtype.bytes() + " bytes) but spans " + (end - begin) + " bytes");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
