package io.kdstream.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST container), plain or gzip-compressed; compression is
 * detected from the content, not the file name. Only the unsigned-byte element type is supported,
 * which is what image and label files use.
 */
public final class IdxReader {
    private static final int UBYTE = 0x08;

    private IdxReader() {
    }

    /** An IDX tensor: its dimensions and its row-major uint8 data. */
    public record IdxArray(int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }
    }

    public static IdxArray read(Path file) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(raw, 1 << 16) : raw;
            return read(in, file.toString());
        }
    }

    static IdxArray read(InputStream stream, String what) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        int magic = in.readInt();
        if ((magic >>> 16) != 0) {
            throw new IOException(what + ": not an IDX file (magic 0x" + Integer.toHexString(magic) + ")");
        }
        int type = (magic >>> 8) & 0xff;
        int rank = magic & 0xff;
        if (type != UBYTE) {
            throw new IOException(what + ": IDX element type 0x" + Integer.toHexString(type)
                    + " is not supported (only unsigned byte, 0x08)");
        }
        if (rank < 1 || rank > 4) {
            throw new IOException(what + ": IDX rank " + rank + " is not supported");
        }
        int[] dims = new int[rank];
        long total = 1;
        for (int i = 0; i < rank; i++) {
            dims[i] = in.readInt();
            if (dims[i] < 0) {
                throw new IOException(what + ": negative IDX dimension " + dims[i]);
            }
            total *= dims[i];
        }
        if (total > Integer.MAX_VALUE - 16) {
            throw new IOException(what + ": IDX tensor too large (" + total + " elements)");
        }
        byte[] data = new byte[(int) total];
        try {
            in.readFully(data);
        } catch (java.io.EOFException e) {
            throw new IOException(what + ": truncated IDX file, expected " + total + " data bytes", e);
        }
        return new IdxArray(dims, data);
    }
}
