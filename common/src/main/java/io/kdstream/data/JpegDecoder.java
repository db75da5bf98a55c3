package io.kdstream.data;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.config.EnumChoice;

/**
 * Which library turns a dataset's JPEG files into pixels ({@code --jpeg-decoder}). Both use the
 * integer ISLOW IDCT and fancy upsampling and agree on ordinary baseline YCbCr files, but they are
 * different builds of libjpeg and may differ by a level on some pixels of other kinds (progressive
 * refinement, 4:4:0): a reference-mode student must decode as its teacher did, so the choice is part
 * of the run's dataset id ({@link DatasetRef}). PNGs, and JPEGs libjpeg-turbo leaves alone (CMYK,
 * YCCK), always go through javax.imageio.
 */
public enum JpegDecoder {
    /** libjpeg-turbo where {@code libturbojpeg} loads, else javax.imageio; resolved once per process. */
    AUTO("auto"),
    /** libjpeg-turbo (SIMD) through its TurboJPEG API: Pillow's decoder, in about half the JDK's CPU time. */
    TURBO("turbo"),
    /** javax.imageio: the JDK's libjpeg (no SIMD), with TwelveMonkeys' plugin for CMYK and YCCK. */
    JAVA("java");

    private static final Logger LOG = LoggerFactory.getLogger(JpegDecoder.class);
    private static final Set<JpegDecoder> LOGGED = ConcurrentHashMap.newKeySet();

    private final String tag;

    JpegDecoder(String tag) {
        this.tag = tag;
    }

    /** The name on the command line and in dataset ids. */
    public String tag() {
        return tag;
    }

    /** The constant for {@code tag}, ignoring case. */
    public static JpegDecoder parse(String tag) {
        for (JpegDecoder d : values()) {
            if (d.tag.equals(tag.toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        throw new IllegalArgumentException("JPEG decoder must be auto, turbo or java, got '" + tag + "'");
    }

    /** Whether libjpeg-turbo's library loaded in this process. */
    public static boolean turboAvailable() {
        return TurboJpeg.available();
    }

    /** Why libjpeg-turbo's library did not load, or null when it did. */
    public static String turboMissing() {
        return TurboJpeg.missing();
    }

    /**
     * The decoder this process uses: {@link #AUTO} becomes {@link #TURBO} when the library loads,
     * else {@link #JAVA}. The first resolution to each decoder is logged, with the library's version.
     *
     * @throws IllegalStateException for {@link #TURBO} when the library is not there, saying how to install it
     */
    public JpegDecoder resolve() {
        JpegDecoder d = this == AUTO ? (TurboJpeg.available() ? TURBO : JAVA) : this;
        if (d == TURBO && !TurboJpeg.available()) {
            throw new IllegalStateException("--jpeg-decoder turbo: " + TurboJpeg.missing() + "; install it (Debian: apt-get "
                    + "install libturbojpeg0; Ubuntu: libturbojpeg) or use --jpeg-decoder java");
        }
        if (LOGGED.add(d)) {
            if (d == TURBO) {
                LOG.info("JPEG decoding: libjpeg-turbo through TurboJPEG ({}; ISLOW IDCT, fancy upsampling); PNG, "
                        + "CMYK and YCCK through javax.imageio", TurboJpeg.describe());
            } else {
                LOG.info("JPEG decoding: javax.imageio (the JDK's libjpeg, without SIMD){}", this == AUTO
                        ? "; libjpeg-turbo would decode in about half the CPU time: " + TurboJpeg.missing()
                        + " (apt-get install libturbojpeg0)" : "");
            }
        }
        return d;
    }

    /** The {@code --jpeg-decoder} values (a picocli converter and candidates). */
    public static final class Names extends EnumChoice<JpegDecoder> {
        public Names() {
            super(values(), JpegDecoder::tag);
        }
    }
}
