package io.kdstream.data;

import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.RandomAccess;

/**
 * An immutable list of strings kept as one UTF-8 byte array and end offsets: a million file names
 * of a sample index in about 30 bytes each instead of a String object (~100 bytes) per name.
 */
final class PackedStrings extends AbstractList<String> implements RandomAccess {
    private final byte[] bytes;
    private final int[] ends;

    private PackedStrings(byte[] bytes, int[] ends) {
        this.bytes = bytes;
        this.ends = ends;
    }

    @Override
    public String get(int index) {
        int from = index == 0 ? 0 : ends[index - 1];
        return new String(bytes, from, ends[index] - from, StandardCharsets.UTF_8);
    }

    @Override
    public int size() {
        return ends.length;
    }

    /** Appends strings, then {@link #build}s the list. */
    static final class Builder {
        private byte[] bytes = new byte[1 << 12];
        private int[] ends = new int[64];
        private int count;
        private int length;

        Builder add(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (length + b.length > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + b.length));
            }
            System.arraycopy(b, 0, bytes, length, b.length);
            length += b.length;
            if (count == ends.length) {
                ends = Arrays.copyOf(ends, count * 2);
            }
            ends[count++] = length;
            return this;
        }

        PackedStrings build() {
            return new PackedStrings(Arrays.copyOf(bytes, length), Arrays.copyOf(ends, count));
        }
    }
}
