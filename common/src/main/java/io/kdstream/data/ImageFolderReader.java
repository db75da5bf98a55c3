package io.kdstream.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

/**
 * Reads {@code dir/<class>/<image>.png|jpg}: class index by sorted folder name, sample id by rank
 * in sorted {@code <class>/<file>} order (stable while the folder does not change). All images
 * must share one size; the channel count is 1 if every image is grayscale, else 3 (RGB).
 */
public final class ImageFolderReader {
    private ImageFolderReader() {
    }

    public static ImageDataset read(Path dir, String name, Split split) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath() + " does not exist");
        }
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(dir)) {
            classDirs = s.filter(Files::isDirectory).sorted().toList();
        }
        if (classDirs.isEmpty()) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath()
                    + " has no class sub-folders (expected " + dir + "/<class>/<image>.png|jpg)");
        }
        List<String> classNames = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> fileLabels = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            classNames.add(classDirs.get(c).getFileName().toString());
            List<Path> images;
            try (Stream<Path> s = Files.list(classDirs.get(c))) {
                images = s.filter(ImageFolderReader::isImage).sorted().toList();
            }
            for (Path p : images) {
                files.add(p);
                fileLabels.add(c);
            }
        }
        if (files.isEmpty()) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath() + " has no .png/.jpg images");
        }
        List<BufferedImage> decoded = new ArrayList<>(files.size());
        boolean allGray = true;
        for (Path p : files) {
            BufferedImage img = ImageIO.read(p.toFile());
            if (img == null) {
                throw new IOException("cannot decode image " + p);
            }
            BufferedImage first = decoded.isEmpty() ? img : decoded.get(0);
            if (img.getWidth() != first.getWidth() || img.getHeight() != first.getHeight()) {
                throw new IOException("image " + p + " is " + img.getWidth() + "x" + img.getHeight()
                        + " but " + files.get(0) + " is " + first.getWidth() + "x" + first.getHeight()
                        + "; all images of a dataset must have one size");
            }
            allGray &= img.getType() == BufferedImage.TYPE_BYTE_GRAY;
            decoded.add(img);
        }
        int h = decoded.get(0).getHeight();
        int w = decoded.get(0).getWidth();
        int channels = allGray ? 1 : 3;
        int sampleSize = channels * h * w;
        byte[] pixels = new byte[files.size() * sampleSize];
        int[] labels = new int[files.size()];
        long[] ids = new long[files.size()];
        for (int i = 0; i < decoded.size(); i++) {
            BufferedImage img = decoded.get(i);
            int base = i * sampleSize;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    if (allGray) {
                        pixels[base + y * w + x] = (byte) img.getRaster().getSample(x, y, 0);
                    } else {
                        int rgb = img.getRGB(x, y);
                        pixels[base + y * w + x] = (byte) (rgb >>> 16);
                        pixels[base + h * w + y * w + x] = (byte) (rgb >>> 8);
                        pixels[base + 2 * h * w + y * w + x] = (byte) rgb;
                    }
                }
            }
            labels[i] = fileLabels.get(i);
            ids[i] = i;
        }
        return new ImageDataset(name, split, channels, h, w, classNames, pixels, labels, ids);
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return Files.isRegularFile(p) && (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg"));
    }
}
