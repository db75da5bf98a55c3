package io.kdstream.data;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A seeded augmentation policy on uint8 CHW images: {@code none}, {@code flip} (horizontal, p=0.5),
 * {@code crop} (zero-pad then random crop back to size), {@code crop+flip}, each optionally
 * {@code +erase} (random erasing, p=0.5, 2–33% of the area, aspect 0.3–3.3, filled with seeded
 * random bytes).
 *
 * <p>{@code rrc} and {@code rrc+flip} are ImageNet's training views: torchvision's
 * RandomResizedCrop (scale 0.08–1, ratio 3/4–4/3, ten attempts then the centre fallback) drawn
 * on the source image ({@link #cropBox}), resized to the dataset's size ({@link ImageFolderReader},
 * bilinear with PIL's antialiasing), then a horizontal flip; {@link BatchSource} applies them to
 * the decoded source image and records each sample's integer box and flip.
 *
 * <p>The transform of one sample is a pure function of (pixels, seed): integer arithmetic on uint8
 * plus StrictMath for the erase box, so every JVM on every machine produces the same bytes. That is
 * what the {@code reference} input mode (DESIGN.md §5) relies on: the teacher publishes
 * {@link #sampleSeed} per sample as {@code aug_seeds} and the student re-applies the policy.
 */
public final class AugmentPolicy {
    /** Crop padding in pixels, as in the usual CIFAR/Fashion-MNIST recipe. */
    public static final int DEFAULT_PADDING = 4;

    /** Share of the resized image an ImageNet evaluation keeps: Resize(256) then CenterCrop(224). */
    public static final double EVAL_CENTRE_CROP = 224.0 / 256.0;

    public static final AugmentPolicy NONE = new AugmentPolicy(false, false, false, DEFAULT_PADDING);

    private static final double ERASE_P = 0.5;
    private static final double ERASE_MIN_AREA = 0.02;
    private static final double ERASE_MAX_AREA = 0.33;
    private static final double ERASE_LOG_MIN_ASPECT = StrictMath.log(0.3);
    private static final double ERASE_LOG_MAX_ASPECT = StrictMath.log(1 / 0.3);

    private static final double RRC_MIN_SCALE = 0.08;
    private static final double RRC_LOG_MIN_RATIO = StrictMath.log(3.0 / 4.0);
    private static final double RRC_LOG_MAX_RATIO = StrictMath.log(4.0 / 3.0);

    private final boolean flip;
    private final boolean crop;
    private final boolean rrc;
    private final boolean erase;
    private final int padding;

    private AugmentPolicy(boolean flip, boolean crop, boolean erase, int padding) {
        this(flip, crop, false, erase, padding);
    }

    private AugmentPolicy(boolean flip, boolean crop, boolean rrc, boolean erase, int padding) {
        if (padding < 0) {
            throw new IllegalArgumentException("crop padding must be >= 0, got " + padding);
        }
        this.flip = flip;
        this.crop = crop;
        this.rrc = rrc;
        this.erase = erase;
        this.padding = padding;
    }

    /**
     * Parses {@code none}, {@code flip}, {@code crop}, {@code crop+flip}, with an optional
     * {@code +erase}; {@code crop} may carry its padding as {@code crop:2}.
     */
    @JsonCreator
    public static AugmentPolicy parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("augmentation policy is empty; use none, flip, crop, crop+flip (optionally +erase)");
        }
        boolean flip = false;
        boolean crop = false;
        boolean erase = false;
        boolean none = false;
        boolean rrc = false;
        int padding = DEFAULT_PADDING;
        for (String part : spec.trim().toLowerCase(Locale.ROOT).split("\\+")) {
            String p = part.trim();
            if (p.equals("none")) {
                none = true;
            } else if (p.equals("flip")) {
                flip = true;
            } else if (p.equals("erase")) {
                erase = true;
            } else if (p.equals("rrc")) {
                rrc = true;
            } else if (p.equals("crop") || p.startsWith("crop:")) {
                crop = true;
                if (p.startsWith("crop:")) {
                    try {
                        padding = Integer.parseInt(p.substring(5));
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("bad crop padding in augmentation policy '" + spec + "'");
                    }
                }
            } else {
                throw new IllegalArgumentException("unknown augmentation '" + p + "' in '" + spec
                        + "'; use none, flip, crop, crop+flip (optionally +erase), rrc or rrc+flip");
            }
        }
        if (none && (flip || crop || erase || rrc)) {
            throw new IllegalArgumentException("augmentation policy '" + spec + "' combines none with other transforms");
        }
        if (rrc && (crop || erase)) {
            throw new IllegalArgumentException("augmentation policy '" + spec + "': rrc goes alone or with flip (rrc+flip)");
        }
        return new AugmentPolicy(flip, crop, rrc, erase, padding);
    }

    /**
     * The seed of one sample's transform in one epoch of one run. Part of the wire contract
     * ({@code aug_seeds}): SplitMix64 hashing of (runSeed, epoch, sampleId), see {@link SeedMix#combine}.
     */
    public static long sampleSeed(long runSeed, int epoch, long sampleId) {
        return SeedMix.combine(runSeed, epoch, sampleId);
    }

    public boolean isIdentity() {
        return !flip && !crop && !erase && !rrc;
    }

    /**
     * The centre crop of this policy's evaluation view: {@link #EVAL_CENTRE_CROP} after
     * RandomResizedCrop training (torchvision's ImageNet recipe), else 1 (the size covered exactly).
     */
    public double evalCentreCrop() {
        return rrc ? EVAL_CENTRE_CROP : 1.0;
    }

    /** Whether the view is cut from the source image at its own size (RandomResizedCrop), not from the resized sample. */
    public boolean cropsSource() {
        return rrc;
    }

    /**
     * One sample's RandomResizedCrop view of an {@code height}×{@code width} source, drawn from
     * {@code seed} as torchvision's {@code get_params} draws it: ten attempts of an area in
     * [0.08, 1]·H·W and a log-uniform ratio in [3/4, 4/3], w = round(√(a·r)), h = round(√(a/r))
     * (half to even, as Python), accepted when it fits, at a uniform position; else the centre crop
     * clamped to the ratio range. Then the flip (p = 0.5) when the policy has one.
     */
    public View cropBox(long seed, int height, int width) {
        SeedMix rng = new SeedMix(seed);
        double area = (double) height * width;
        int top = -1;
        int left = 0;
        int h = height;
        int w = width;
        for (int attempt = 0; attempt < 10 && top < 0; attempt++) {
            double target = area * (RRC_MIN_SCALE + (1 - RRC_MIN_SCALE) * rng.nextDouble());
            double ratio = StrictMath.exp(RRC_LOG_MIN_RATIO + (RRC_LOG_MAX_RATIO - RRC_LOG_MIN_RATIO) * rng.nextDouble());
            int cw = (int) Math.rint(StrictMath.sqrt(target * ratio));
            int ch = (int) Math.rint(StrictMath.sqrt(target / ratio));
            if (cw > 0 && cw <= width && ch > 0 && ch <= height) {
                h = ch;
                w = cw;
                top = rng.nextInt(height - ch + 1);
                left = rng.nextInt(width - cw + 1);
            }
        }
        if (top < 0) { // centre fallback
            double inRatio = (double) width / height;
            if (inRatio < 3.0 / 4.0) {
                w = width;
                h = (int) Math.rint(w / (3.0 / 4.0));
            } else if (inRatio > 4.0 / 3.0) {
                h = height;
                w = (int) Math.rint(h * (4.0 / 3.0));
            } else {
                w = width;
                h = height;
            }
            top = (height - h) / 2;
            left = (width - w) / 2;
        }
        boolean mirror = flip && rng.nextDouble() < 0.5;
        return new View(top, left, h, w, height, width, mirror);
    }

    /** A sample's crop box in source pixels, the source's size, and whether the view is mirrored. */
    public record View(int top, int left, int height, int width, int sourceHeight, int sourceWidth, boolean flip) {
    }

    /**
     * Writes the augmented view of {@code src[srcOff ..]} (one C×H×W uint8 image) to
     * {@code dst[dstOff ..]}; src and dst must not overlap.
     */
    public void apply(byte[] src, int srcOff, int channels, int height, int width, long seed, byte[] dst, int dstOff) {
        if (rrc) {
            throw new IllegalStateException("rrc crops the source image (cropBox), not a resized sample");
        }
        int plane = height * width;
        SeedMix rng = new SeedMix(seed);
        // Fixed draw order (crop, flip, erase) is part of the contract; do not reorder.
        int dy = 0;
        int dx = 0;
        if (crop && padding > 0) {
            dy = rng.nextInt(2 * padding + 1) - padding;
            dx = rng.nextInt(2 * padding + 1) - padding;
        }
        boolean mirror = flip && rng.nextDouble() < 0.5;
        // Row-wise: the valid source span of each row is a contiguous range, so copy it with
        // arraycopy (or a reversed loop when mirrored) and zero the rest.
        for (int c = 0; c < channels; c++) {
            int sBase = srcOff + c * plane;
            int dBase = dstOff + c * plane;
            for (int y = 0; y < height; y++) {
                int sy = y + dy;
                int d = dBase + y * width;
                if (sy < 0 || sy >= height) {
                    java.util.Arrays.fill(dst, d, d + width, (byte) 0);
                    continue;
                }
                int s = sBase + sy * width;
                if (!mirror) {
                    // out x reads src x + dx for x in [max(0, -dx), min(width, width - dx))
                    int x0 = Math.max(0, -dx);
                    int x1 = Math.min(width, width - dx);
                    java.util.Arrays.fill(dst, d, d + x0, (byte) 0);
                    System.arraycopy(src, s + x0 + dx, dst, d + x0, x1 - x0);
                    java.util.Arrays.fill(dst, d + x1, d + width, (byte) 0);
                } else {
                    for (int x = 0; x < width; x++) {
                        int sx = width - 1 - x + dx;
                        dst[d + x] = (sx < 0 || sx >= width) ? 0 : src[s + sx];
                    }
                }
            }
        }
        if (erase && rng.nextDouble() < ERASE_P) {
            eraseBox(rng, channels, height, width, dst, dstOff);
        }
    }

    private static void eraseBox(SeedMix rng, int channels, int height, int width, byte[] dst, int dstOff) {
        double area = (double) height * width;
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (ERASE_MIN_AREA + (ERASE_MAX_AREA - ERASE_MIN_AREA) * rng.nextDouble());
            double aspect = StrictMath.exp(ERASE_LOG_MIN_ASPECT
                    + (ERASE_LOG_MAX_ASPECT - ERASE_LOG_MIN_ASPECT) * rng.nextDouble());
            int eh = (int) StrictMath.round(StrictMath.sqrt(target * aspect));
            int ew = (int) StrictMath.round(StrictMath.sqrt(target / aspect));
            if (eh < 1 || ew < 1 || eh >= height || ew >= width) {
                continue;
            }
            int y0 = rng.nextInt(height - eh + 1);
            int x0 = rng.nextInt(width - ew + 1);
            for (int c = 0; c < channels; c++) {
                for (int y = y0; y < y0 + eh; y++) {
                    for (int x = x0; x < x0 + ew; x++) {
                        dst[dstOff + c * height * width + y * width + x] = (byte) rng.nextLong();
                    }
                }
            }
            return;
        }
    }

    /** Canonical spec string, e.g. {@code crop+flip+erase}, as the manifest records it; {@link #parse} reads it back. */
    @JsonValue
    @Override
    public String toString() {
        if (isIdentity()) {
            return "none";
        }
        if (rrc) {
            return flip ? "rrc+flip" : "rrc";
        }
        StringBuilder sb = new StringBuilder();
        if (crop) {
            sb.append(padding == DEFAULT_PADDING ? "crop" : "crop:" + padding);
        }
        if (flip) {
            sb.append(sb.length() > 0 ? "+" : "").append("flip");
        }
        if (erase) {
            sb.append(sb.length() > 0 ? "+" : "").append("erase");
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AugmentPolicy p && p.flip == flip && p.crop == crop && p.erase == erase && p.rrc == rrc
                && (!crop || p.padding == padding);
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /**
     * {@code --augment} on a command line: any policy {@link #parse} accepts (the candidates are the
     * common ones); a bad one is refused at parse time with parse's own message.
     */
    public static final class Names extends io.kdstream.config.Choice {
        public Names() {
            super(java.util.List.of("none", "flip", "crop", "crop+flip", "crop+flip+erase", "rrc+flip"));
        }

        @Override
        public AugmentPolicy convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
