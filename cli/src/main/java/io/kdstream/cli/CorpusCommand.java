package io.kdstream.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.kdstream.config.Bounded;
import io.kdstream.data.SyntheticCorpus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kdstream corpus}: an ImageNet-shaped synthetic corpus to measure the image data path on. */
@Command(name = "corpus", mixinStandardHelpOptions = true,
        description = "Writes an ImageNet-shaped synthetic dataset (JPEGs of mixed sizes around 500x375, learnable "
                + "classes) made from the seed alone, as an image folder (OUT/train/<class>/*.jpg, OUT/test/...) or as "
                + "WebDataset-style tar shards (OUT/train/shard-NNNNNN.tar with <key>.jpg and <key>.cls). "
                + "Nothing is downloaded; same options, same files.")
public final class CorpusCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", required = true, description = "Directory to write (train/ and test/ under it).")
    Path out;

    @Option(names = "--images", defaultValue = "2000", converter = Bounded.PositiveInt.class, description = "Training images (default: ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--test-images", converter = Bounded.NonNegativeInt.class,
            description = "Test images (default: a tenth of --images, at least one per class).")
    Integer testImages;

    @Option(names = "--classes", defaultValue = "10", converter = Bounded.PositiveInt.class, description = "Classes (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--shard-size", defaultValue = "0", converter = Bounded.NonNegativeInt.class,
            description = "Samples per tar shard; 0 writes an image folder (default: ${DEFAULT-VALUE}).")
    int shardSize;

    @Option(names = "--quality", defaultValue = "" + SyntheticCorpus.DEFAULT_QUALITY, converter = Bounded.Percent.class,
            description = "JPEG quality 1..100 (default: ${DEFAULT-VALUE}).")
    int quality;

    @Option(names = "--seed", defaultValue = "1", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (classes < 2) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--classes must be 2 or more, got " + classes);
        }
        int test = testImages != null ? testImages : Math.max(classes, images / 10);
        long t0 = System.nanoTime();
        new SyntheticCorpus(classes, seed, quality, shardSize).write(out, images, test);
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %d train and %d test images in %d classes to %s (%s) in %.1f s%n",
                images, test, classes, out, shardSize == 0 ? "image folder" : "tar shards of " + shardSize,
                (System.nanoTime() - t0) / 1e9);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
