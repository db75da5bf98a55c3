package io.kdstream.data;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libjpeg-turbo's TurboJPEG API (the system's {@code libturbojpeg.so.0}, Debian's
 * {@code libturbojpeg0}) bound through JNA: the SIMD decoder Pillow uses, with the integer ISLOW
 * IDCT and fancy upsampling, so its pixels are Pillow's. It decodes YCbCr, greyscale and RGB JPEGs;
 * anything else (CMYK and YCCK, sampling TurboJPEG cannot classify) is left to javax.imageio by
 * returning null, which is decided by the file alone, so every process that uses this decoder makes
 * the same choice for the same file. The 2.x functions used here are also in libjpeg-turbo 3.x.
 */
final class TurboJpeg {
    // turbojpeg.h
    private static final int TJPF_RGB = 0;
    private static final int TJPF_GRAY = 6;
    private static final int TJCS_RGB = 0;
    private static final int TJCS_YCBCR = 1;
    private static final int TJCS_GRAY = 2;
    private static final int TJFLAG_ACCURATEDCT = 4096;
    private static final int TJERR_FATAL = 1;

    private static final Logger LOG = LoggerFactory.getLogger(TurboJpeg.class);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Loaded LOADED = load();

    /** The library's file and version, or why it is not there. */
    private record Loaded(String file, String version, String missing) {
    }

    private TurboJpeg() {
    }

    /** Whether the library loaded. */
    static boolean available() {
        return LOADED.missing == null;
    }

    /** Why it did not load (null when it did). */
    static String missing() {
        return LOADED.missing;
    }

    /** E.g. {@code libjpeg-turbo version 2.1.5 (build 20230203), /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0.2.0}. */
    static String describe() {
        return LOADED.version + ", " + LOADED.file;
    }

    private static Loaded load() {
        Throwable first = null;
        // the unversioned name needs the -dev package's symlink; the runtime package has .so.0
        for (String name : new String[] {"turbojpeg", "libturbojpeg.so.0"}) {
            try {
                NativeLibrary lib = NativeLibrary.getInstance(name);
                Native.register(TurboJpeg.class, lib);
                String file = lib.getFile() != null ? lib.getFile().toString() : name;
                return new Loaded(file, version(lib.getFile() != null ? lib.getFile().toPath() : null), null);
            } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
                first = first == null ? e : first;
            }
        }
        String why = first.getMessage() == null ? first.toString() : first.getMessage().lines().findFirst().orElse("");
        return new Loaded(null, null, "libturbojpeg.so.0 not loaded (" + why + ")");
    }

    /** The version string libjpeg-turbo builds into its messages: TurboJPEG 2.x has no call that returns it. */
    private static String version(Path file) {
        if (file != null) {
            try {
                String text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
                int at = text.indexOf("libjpeg-turbo version ");
                if (at >= 0) {
                    int end = text.indexOf('\0', at);
                    return text.substring(at, end > at && end - at < 80 ? end : at + 30);
                }
            } catch (IOException | RuntimeException e) {
                // an unknown version is only a less informative log line
            }
        }
        return "libjpeg-turbo of unknown version";
    }

    private static native Pointer tjInitDecompress();

    private static native int tjDecompressHeader3(Pointer handle, Pointer jpeg, NativeLong size, Pointer width,
                                                  Pointer height, Pointer subsamp, Pointer colorspace);

    private static native int tjDecompress2(Pointer handle, Pointer jpeg, NativeLong size, Pointer dst, int width,
                                            int pitch, int height, int pixelFormat, int flags);

    private static native String tjGetErrorStr2(Pointer handle);

    private static native int tjGetErrorCode(Pointer handle);

    private static native int tjDestroy(Pointer handle);

    /**
     * A decompressor and its native buffers for one thread: a TurboJPEG handle must not be shared
     * between threads, and buffers reused across images spare a malloc and the page faults of a
     * fresh mapping per image. The handle is destroyed when its thread is gone.
     */
    private static final class Session {
        Pointer handle;
        Cleaner.Cleanable destroy;
        final Memory header = new Memory(16);
        Memory src = new Memory(1 << 17);
        Memory dst = new Memory(1 << 20);
        byte[] interleaved = new byte[0];

        Session() {
            renew();
        }

        /**
         * A fresh decompressor, the old one destroyed: after any failed call. TurboJPEG 2.1 can leave
         * a handle mid-state after an error, and the next header read on it then reported the
         * previous image's size (seen: a 20x30 JPEG decoded as 519x363).
         */
        void renew() {
            if (destroy != null) {
                destroy.clean();
            }
            Pointer h = tjInitDecompress();
            if (h == null) {
                throw new IllegalStateException("tjInitDecompress failed: " + tjGetErrorStr2(null));
            }
            handle = h;
            destroy = CLEANER.register(this, () -> tjDestroy(h));
        }

        Memory src(int size) {
            if (size > KEPT) {
                return new Memory(size); // a rare huge file is not kept for the thread's lifetime
            }
            if (src.size() < size) {
                src = new Memory(Math.max(size, Math.min(KEPT, src.size() * 2)));
            }
            return src;
        }

        Memory dst(long size) {
            if (size > KEPT) {
                return new Memory(size);
            }
            if (dst.size() < size) {
                dst = new Memory(Math.max(size, Math.min(KEPT, dst.size() * 2)));
            }
            return dst;
        }

        byte[] interleaved(int size) {
            if (size > KEPT) {
                return new byte[size];
            }
            if (interleaved.length < size) {
                interleaved = new byte[size];
            }
            return interleaved;
        }
    }

    /** Buffers up to this size stay with their thread; an ImageNet-size image (500×375 RGB) needs 0.6 MB. */
    private static final int KEPT = 16 << 20;

    private static final ThreadLocal<Session> SESSION = ThreadLocal.withInitial(Session::new);

    /** Whether {@code bytes} start as a JPEG does (SOI marker); anything else is javax.imageio's. */
    static boolean isJpeg(byte[] bytes) {
        return bytes.length > 3 && (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xd8 && (bytes[2] & 0xff) == 0xff;
    }

    /**
     * Decodes a JPEG to CHW planes (one for greyscale, else R, G, B), or returns null for one this
     * decoder leaves to javax.imageio (not a JPEG, CMYK or YCCK, a header TurboJPEG cannot read).
     *
     * @throws IOException in one line naming {@code name}: corrupt data, or a file cut short (which
     *                     libjpeg only warns about and fills grey, where Pillow raises)
     */
    static ImageDecoder.Planes decode(byte[] bytes, String name) throws IOException {
        if (!available()) {
            throw new IllegalStateException(missing());
        }
        if (!isJpeg(bytes)) {
            return null;
        }
        Session s = SESSION.get();
        Memory src = s.src(bytes.length);
        src.write(0, bytes, 0, bytes.length);
        NativeLong size = new NativeLong(bytes.length);
        Memory hd = s.header;
        for (int attempt = 0; ; attempt++) {
            hd.clear(); // a call that wrote nothing must not leave the last image's size here
            if (tjDecompressHeader3(s.handle, src, size, hd, hd.share(4), hd.share(8), hd.share(12)) != 0) {
                s.renew();
                return null; // javax.imageio decides: unreadable, or a kind TurboJPEG does not take
            }
            if (hd.getInt(0) > 0 && hd.getInt(4) > 0) {
                break;
            }
            // "success" without a size: a handle in a bad state. Once more on a fresh one; never a
            // silent fallback, which would make the decoder of a file depend on what came before it
            LOG.warn("libjpeg-turbo read no image size from the header of {} on a used handle; once more on a fresh one",
                    name);
            s.renew();
            if (attempt == 1) {
                throw new IOException("cannot read image " + name + ": libjpeg-turbo read no image size from its header");
            }
        }
        int width = hd.getInt(0);
        int height = hd.getInt(4);
        int colorspace = hd.getInt(12);
        if (colorspace != TJCS_YCBCR && colorspace != TJCS_GRAY && colorspace != TJCS_RGB) {
            return null; // CMYK, YCCK: TwelveMonkeys converts them
        }
        int channels = colorspace == TJCS_GRAY ? 1 : 3;
        long bytesOut = (long) width * height * channels;
        if (bytesOut > Integer.MAX_VALUE - 16) {
            throw new IOException("cannot read image " + name + ": " + width + "x" + height + " is too large to decode");
        }
        Memory dst = s.dst(bytesOut);
        int rc = tjDecompress2(s.handle, src, size, dst, width, 0, height, channels == 1 ? TJPF_GRAY : TJPF_RGB,
                TJFLAG_ACCURATEDCT);
        if (rc != 0) {
            // a warning leaves a whole image; only "premature end" (a file cut short) makes it unusable,
            // as in the javax.imageio path: Pillow ignores libjpeg's other warnings
            String msg = String.valueOf(tjGetErrorStr2(s.handle)).strip();
            String lower = msg.toLowerCase(Locale.ROOT);
            boolean fatal = tjGetErrorCode(s.handle) == TJERR_FATAL;
            s.renew();
            if (fatal) {
                throw new IOException("cannot read image " + name + ": " + msg);
            }
            if (lower.contains("premature end") || lower.contains("truncated")) {
                throw new IOException("cannot read image " + name + ": truncated: " + msg);
            }
        }
        int plane = width * height;
        byte[] out = new byte[(int) bytesOut];
        if (channels == 1) {
            dst.read(0, out, 0, plane);
        } else {
            byte[] rgb = s.interleaved((int) bytesOut);
            dst.read(0, rgb, 0, (int) bytesOut);
            for (int i = 0, o = 0; i < plane; i++, o += 3) {
                out[i] = rgb[o];
                out[plane + i] = rgb[o + 1];
                out[2 * plane + i] = rgb[o + 2];
            }
        }
        return new ImageDecoder.Planes(out, channels, height, width);
    }
}
