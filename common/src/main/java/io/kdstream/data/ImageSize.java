package io.kdstream.data;

/**
 * The size every image of an image folder is brought to ({@code --image-size H[,W]}): scaled so
 * that it covers H×W (its shorter side, for a square size) and center-cropped.
 */
public record ImageSize(int height, int width) {

    /** Larger images are almost certainly a typo (and would not fit a Java array per batch). */
    public static final int MAX_SIDE = 4096;

    public ImageSize {
        if (height <= 0 || width <= 0 || height > MAX_SIDE || width > MAX_SIDE) {
            throw new IllegalArgumentException("image size must be 1.." + MAX_SIDE + " pixels per side, got "
                    + height + "x" + width);
        }
    }

    /** {@code H} (square), {@code H,W} or {@code HxW}. */
    public static ImageSize parse(String s) {
        String[] p = s.trim().split("[,xX]", -1);
        try {
            if (p.length == 1) {
                int side = Integer.parseInt(p[0].trim());
                return new ImageSize(side, side);
            }
            if (p.length == 2) {
                return new ImageSize(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException("image size must be H or H,W in pixels, got '" + s + "'");
    }

    /** {@code --image-size}: refused at parse time when {@link #parse} refuses it; the text stays as given. */
    public static final class Checked implements picocli.CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                parse(value);
                return value;
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code HxW}, as in a dataset id. */
    @Override
    public String toString() {
        return height + "x" + width;
    }
}
