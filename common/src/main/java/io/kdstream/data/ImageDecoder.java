package io.kdstream.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * PNG and JPEG bytes to CHW uint8 planes. JPEGs go to libjpeg-turbo ({@link TurboJpeg}, Pillow's
 * decoder) under {@link JpegDecoder#TURBO}; everything else, and every file under
 * {@link JpegDecoder#JAVA}, to javax.imageio (the JDK's bundled IJG libjpeg with its integer ISLOW
 * IDCT and fancy upsampling, which agrees with libjpeg-turbo's ISLOW on baseline files; any ImageIO
 * plugin on the class path, such as TwelveMonkeys for CMYK JPEGs, takes part). No temporary files:
 * the stream is cached in memory.
 */
public final class ImageDecoder {
    private ImageDecoder() {
    }

    /** An image's size and whether it is greyscale, from its header alone. */
    public record Header(int width, int height, boolean grey) {
    }

    /** Decoded CHW planes: one for grey, else R, G, B. */
    public record Planes(byte[] pixels, int channels, int height, int width) {
        public Planes {
            if (pixels.length != channels * height * width) {
                throw new IllegalArgumentException(pixels.length + " bytes for " + channels + "x" + height + "x" + width);
            }
        }
    }

    /** The header of {@code file}, or an IOException naming it and why it is unusable. */
    public static Header header(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            ImageReader reader = reader(in, file.toString());
            try {
                reader.setInput(in, true, true);
                Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
                boolean grey = types.hasNext() && isGrey(types.next().getColorModel());
                return new Header(reader.getWidth(0), reader.getHeight(0), grey);
            } catch (IOException | RuntimeException e) {
                throw new IOException("cannot read image " + file + ": " + SampleIndex.oneLine(e), e);
            } finally {
                reader.dispose();
            }
        }
    }

    /**
     * Decodes one image.
     *
     * @param name    how messages name it (a path, or a shard and key)
     * @param decoder which library decodes JPEGs ({@link JpegDecoder#AUTO} is resolved first)
     * @throws IOException in one line naming {@code name} and why it is unusable
     */
    public static Planes decode(byte[] bytes, String name, JpegDecoder decoder) throws IOException {
        if (decoder.resolve() == JpegDecoder.TURBO) {
            Planes p = TurboJpeg.decode(bytes, name);
            if (p != null) {
                return p;
            }
        }
        return decodeWithImageIo(bytes, name);
    }

    private static Planes decodeWithImageIo(byte[] bytes, String name) throws IOException {
        BufferedImage img;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            ImageReader reader = reader(in, name);
            List<String> warnings = new ArrayList<>();
            try {
                // on a truncated file libjpeg warns and fills the rest grey where Pillow raises: it is
                // unreadable here too, not half an image. Its other warnings (extraneous bytes
                // before a marker, ...) Pillow ignores, and so do we.
                reader.addIIOReadWarningListener((source, warning) -> {
                    String w = warning.toLowerCase(java.util.Locale.ROOT);
                    if (w.contains("premature end") || w.contains("truncated")) {
                        warnings.add("truncated: " + warning);
                    }
                });
                reader.setInput(in, true, true);
                img = reader.read(0);
                if (!warnings.isEmpty()) {
                    throw new IOException(warnings.get(0).lines().findFirst().orElse("decoder warning"));
                }
            } catch (IOException | RuntimeException e) {
                // IIOException for corrupt data and, for some truncated files, runtime exceptions
                throw new IOException("cannot read image " + name + ": " + SampleIndex.oneLine(e), e);
            } finally {
                reader.dispose();
            }
        }
        boolean grey = isGrey(img.getColorModel());
        return new Planes(planes(img, grey), grey ? 1 : 3, img.getHeight(), img.getWidth());
    }

    private static ImageReader reader(ImageInputStream in, String name) throws IOException {
        if (in == null) {
            throw new IOException("cannot read image " + name + ": cannot open it");
        }
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw new IOException("cannot read image " + name + ": not a PNG or JPEG file javax.imageio can decode");
        }
        return readers.next();
    }

    static boolean isGrey(ColorModel cm) {
        return cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel);
    }

    /** CHW planes: one for grey (16-bit keeps its high byte), else R, G, B; straight from the raster for 8-bit BGR and grey. */
    static byte[] planes(BufferedImage img, boolean grey) {
        int h = img.getHeight();
        int w = img.getWidth();
        int plane = h * w;
        byte[] out = new byte[(grey ? 1 : 3) * plane];
        if (img.getType() == BufferedImage.TYPE_3BYTE_BGR && img.getRaster().getDataBuffer() instanceof DataBufferByte db
                && img.getRaster().getSampleModel() instanceof ComponentSampleModel sm
                && sm.getPixelStride() == 3 && sm.getScanlineStride() == 3 * w && db.getOffset() == 0
                && img.getRaster().getSampleModelTranslateX() == 0 && img.getRaster().getSampleModelTranslateY() == 0) {
            byte[] bgr = db.getData();
            for (int i = 0, o = 0; i < plane; i++, o += 3) {
                out[i] = bgr[o + 2];
                out[plane + i] = bgr[o + 1];
                out[2 * plane + i] = bgr[o];
            }
            return out;
        }
        if (grey && img.getType() == BufferedImage.TYPE_BYTE_GRAY && img.getRaster().getDataBuffer() instanceof DataBufferByte db
                && img.getRaster().getSampleModel() instanceof ComponentSampleModel sm
                && sm.getScanlineStride() == w && db.getOffset() == 0
                && img.getRaster().getSampleModelTranslateX() == 0 && img.getRaster().getSampleModelTranslateY() == 0) {
            System.arraycopy(db.getData(), 0, out, 0, plane);
            return out;
        }
        int shift = grey ? Math.max(0, img.getColorModel().getComponentSize(0) - 8) : 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (grey) {
                    out[y * w + x] = (byte) (img.getRaster().getSample(x, y, 0) >>> shift);
                } else {
                    int rgb = img.getRGB(x, y);
                    out[y * w + x] = (byte) (rgb >>> 16);
                    out[plane + y * w + x] = (byte) (rgb >>> 8);
                    out[2 * plane + y * w + x] = (byte) rgb;
                }
            }
        }
        return out;
    }
}
