package io.kdstream.service;

import java.time.Duration;
import java.util.List;

import io.kdstream.config.Bounded;
import io.kdstream.config.OptionRules;
import io.kdstream.data.DataWorkers;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.JpegDecoder;
import io.kdstream.duration.DurationConverter;
import io.kdstream.model.Devices;
import picocli.CommandLine.Option;

/**
 * Options both services take (a picocli mixin beside {@link ServiceOptions}): the device, the
 * progress interval, the dataset, the seed, the input normalization, the data workers and the JPEG
 * decoder. Each is
 * declared once, here. Where the teacher and the student read one differently (the teacher's
 * {@code --seed} seeds the run, the student's its initialization) the help text comes from the
 * service's resource bundle under the option's {@code descriptionKey}, and so does the teacher's
 * {@code --dataset} default ({@code dataset.default}; the student's is the manifest's): a command
 * that mixes this in names a bundle with those keys ({@code @Command(resourceBundle = ...)}).
 * {@code --input-mean} without {@code --input-std} is refused as a usage error before the command
 * runs ({@link OptionRules}).
 */
public final class WorkerOptions implements OptionRules {

    @Option(names = "--device", defaultValue = "auto", converter = Devices.Names.class, description = Devices.HELP)
    public String device;

    @Option(names = "--progress-interval", defaultValue = "5s", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Time between JSON progress lines on stdout; 0 disables (" + DurationConverter.SYNTAX
                    + "; default: ${DEFAULT-VALUE}).")
    public Duration progressInterval;

    @Option(names = "--dataset", descriptionKey = "dataset",
            defaultValue = "${bundle:dataset.default:-" + Option.NULL_VALUE + "}")
    public String dataset;

    @Option(names = "--seed", descriptionKey = "seed", defaultValue = "1")
    public long seed;

    @Option(names = "--input-mean", descriptionKey = "input-mean", split = ",", paramLabel = "M[,M...]",
            converter = Bounded.PixelMean.class)
    public List<Float> inputMean;

    @Option(names = "--input-std", split = ",", paramLabel = "S[,S...]", converter = Bounded.PixelStd.class,
            description = "Per-channel standard deviation of the input normalization, with --input-mean.")
    public List<Float> inputStd;

    @Option(names = "--data-workers", descriptionKey = "data-workers", paramLabel = "N",
            converter = Bounded.PositiveInt.class)
    public Integer dataWorkers;

    @Option(names = "--jpeg-decoder", descriptionKey = "jpeg-decoder", defaultValue = "auto",
            converter = JpegDecoder.Names.class, completionCandidates = JpegDecoder.Names.class)
    public JpegDecoder jpegDecoder;

    /** {@code --input-mean} and {@code --input-std} go together, finite and positive. */
    @Override
    public void checkOptionRules(Given given) {
        try {
            InputNormalization.checkOptions(inputMean, inputStd);
        } catch (IllegalArgumentException e) {
            given.refuse(e.getMessage());
        }
    }

    /** The given {@code --input-mean}/{@code --input-std} for images of {@code channels}, or null when neither is given. */
    public InputNormalization givenInputNormalization(int channels) {
        InputNormalization.checkOptions(inputMean, inputStd);
        return inputMean == null ? null : InputNormalization.of(inputMean, inputStd, channels);
    }

    /** A pool of the {@code --data-workers} threads (by default half the cores), for the caller to close. */
    public DataWorkers openDataWorkers() {
        return DataWorkers.of(dataWorkers != null ? dataWorkers : DataWorkers.defaultCount());
    }
}
