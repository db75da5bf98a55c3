package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.BatchSource;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.Split;
import io.kdstream.model.Architecture;
import io.kdstream.model.DeviceCases;
import io.kdstream.model.Devices;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.ModelCard;
import io.kdstream.vkd.Normalization;

/** {@code --device} reaches the teacher's weights and every array a published batch is made of. */
class TeacherPipelineDeviceTest {

    @ParameterizedTest
    @MethodSource("io.kdstream.model.DeviceCases#specs")
    void everyArrayOfATeacherBatchLivesOnTheResolvedDevice(String spec) {
        DeviceCases.assumeAvailable(spec);
        Device device = Devices.resolve(spec);
        ImageDataset data = syntheticImages(64);
        InputNormalization norm = InputNormalization.forDataset(data);
        BatchSource batches = new BatchSource(data, 3L, 32, AugmentPolicy.parse("crop+flip"));
        RunSpec run = RunSpec.builder().setRunId("device").setSource("synthetic", 10, List.of(1, 28, 28))
                .setTeacher("t", "pooled-features")
                .setFeatures(Architecture.CNN.featureDim(), Normalization.LAYER, DType.F16).optLogitClasses(10)
                .optAugmentation(AugmentPolicy.parse("crop+flip"))
                .setStream(32, batches.batchesPerEpoch(), 1, 3L).build();
        TeacherMetrics metrics = new TeacherMetrics();
        metrics.bindTo(new SimpleMeterRegistry());
        try (DjlFeatureModel model = DjlFeatureModel.create(Architecture.CNN, 1, 28, 28, 10, "synthetic", norm, device);
             PlacementProbe teacher = new PlacementProbe(model, device);
             TeacherPipeline pipeline = new TeacherPipeline(teacher, batches, norm, Normalization.LAYER.create(), run,
                     "p", metrics, device)) {
            assertThat(DeviceCases.misplaced(model.model().getNDManager(), device)).as("weights").isEmpty();
            FeatureBatch batch = pipeline.batch(0, 1);
            assertThat(batch.teacherFeatures().shape()).containsExactly(32, Architecture.CNN.featureDim());
            assertThat(teacher.forwards).isEqualTo(1);
            assertThat(teacher.misplaced).as("arrays of the batch off %s", device).isEmpty();
        }
    }

    /** Checks, at the moment of the forward, every array of the batch's step manager. */
    private static final class PlacementProbe implements FeatureModel {
        private final FeatureModel inner;
        private final Device device;
        private final List<String> misplaced = new ArrayList<>();
        private int forwards;

        PlacementProbe(FeatureModel inner, Device device) {
            this.inner = inner;
            this.device = device;
        }

        @Override
        public ModelCard card() {
            return inner.card();
        }

        @Override
        public NDList forward(NDArray x) {
            NDList out = inner.forward(x);
            forwards++;
            misplaced.addAll(DeviceCases.misplaced(x.getManager(), device));
            return out;
        }

        @Override
        public void close() {
        }
    }

    private static ImageDataset syntheticImages(int n) {
        Random random = new Random(5);
        byte[] pixels = new byte[n * 28 * 28];
        random.nextBytes(pixels);
        return new ImageDataset(new ImageDataset.Layout("synthetic", Split.TRAIN, 1, 28, 28,
                IntStream.range(0, 10).mapToObj(i -> "c" + i).toList()), pixels,
                IntStream.range(0, n).map(i -> i % 10).toArray(), IntStream.range(0, n).asLongStream().toArray());
    }
}
