package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.FeatureBatchValidator;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.InvalidBatchException;
import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.WhiteningRef;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.data.BatchSource;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;
import io.kdstream.model.FeatureModel;
import io.kdstream.model.FeatureModels;
import io.kdstream.vkd.CalibratedWhitening;
import io.kdstream.vkd.Normalization;

/** --norm whiten end to end: one calibrated matrix per run, computed once, read by later teachers, named by every record. */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class TeacherWhiteningIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 256, 3);

    @TempDir
    Path tmp;

    @Test
    void everyTeacherOfARunWhitensWithTheSameMatrixAndEveryRecordNamesIt(TestKafka kafka) throws Exception {
        ImageDataset train = DATA.train();
        InputNormalization norm = InputNormalization.forDataset(train);
        try (DjlFeatureModel teacher = DjlFeatureModel.create(Architecture.CNN, 1, 28, 28, 10, "fashion-mnist", norm)) {
            teacher.save(tmp.resolve("teacher"));
            int d = teacher.featureDim();
            WhiteningRef ref = new WhiteningRef(WhiteningCalibrator.defaultSamples(d, train.size()), 5L, 1e-2, null);

            // two teachers (separately loaded copies) calibrate independently: the same bits
            CalibratedWhitening first = WhiteningCalibrator.calibrate(teacher, train, norm, ref, 64);
            try (FeatureModel other = FeatureModels.load(tmp.resolve("teacher"))) {
                CalibratedWhitening second = WhiteningCalibrator.calibrate(other, train, norm, ref, 64);
                assertThat(second.sha256()).isEqualTo(first.sha256());
                assertThat(second.matrix()).containsExactly(first.matrix());
                assertThat(second.mean()).containsExactly(first.mean());
            }

            BatchSource batches = new BatchSource(train, 5L, 64, AugmentPolicy.parse("flip"));
            RunSpec spec = RunSpec.builder().setRunId("whiten-" + UUID.randomUUID())
                    .setSource(DATA.id(), 10, List.of(1, 28, 28)).setTeacher(teacher.id(), "pooled-features")
                    .setFeatures(d, Normalization.WHITEN, DType.F16).optInputMode(InputMode.REFERENCE)
                    .optAugmentation(AugmentPolicy.parse("flip")).setStream(64, batches.batchesPerEpoch(), 1, 5L)
                    .build().withWhitening(ref);
            AtomicInteger calibrations = new AtomicInteger();
            RunSetup.Prepared a = RunSetup.prepare(kafka.clients(), spec, RunSetup.Settings.defaults(), () -> {
                calibrations.incrementAndGet();
                return first;
            });
            assertThat(a.manifest().whitening().sha256()).isEqualTo(first.sha256());
            // a second teacher reads the published whitening instead of calibrating
            RunSetup.Prepared b = RunSetup.prepare(kafka.clients(), spec, RunSetup.Settings.defaults(), () -> {
                throw new AssertionError("the second teacher must read the published whitening");
            });
            assertThat(calibrations).hasValue(1);
            assertThat(b.whitening().sha256()).isEqualTo(first.sha256());
            assertThat(b.whitening().matrix()).containsExactly(first.matrix());

            RunSpec resolved = spec.withWhitening(a.manifest().whitening());
            try (NDManager arrays = NDManager.newBaseManager("PyTorch");
                 TeacherPipeline pipeline = new TeacherPipeline(teacher, batches, norm, b.whitening().normalizer(arrays),
                         resolved, "t1", new TeacherMetrics())) {
                TeacherWorker worker = TeacherWorker.builder().setClients(kafka.clients()).setRunSpec(resolved)
                        .setSource(pipeline).optInstanceId("whiten-" + spec.runId()).build();
                Thread t = new Thread(worker);
                t.start();
                t.join(120_000);
                assertThat(t.isAlive()).isFalse();
            }
            Map<String, FeatureBatch> got = TeacherWorkerIT.readAll(kafka.clients(), resolved, batches.batchesPerEpoch());
            FeatureBatchValidator validator = new FeatureBatchValidator(a.manifest());
            for (FeatureBatch fb : got.values()) {
                assertThat(fb.metadata().whiteningSha256()).isEqualTo(first.sha256());
                validator.validate(fb);
            }
            // the published targets are (x − μ)·W of the unnormalized teacher features
            FeatureBatch b0 = got.get("0/0");
            float[] raw;
            try (NDManager m = NDManager.newBaseManager("PyTorch")) {
                raw = teacher.features(batches.batch(0, 0).toModelInput(m, norm)).toFloatArray();
            }
            double[] want = first.whiten(raw, b0.batchSize());
            float[] published = b0.featureFloats();
            for (int i = 0; i < want.length; i++) {
                assertThat((double) published[i]).as("z[%d]", i)
                        .isCloseTo(want[i], org.assertj.core.data.Offset.offset(2e-3 + 1e-3 * Math.abs(want[i])));
            }
            // a student of a run whose manifest names another whitening refuses these records, in one line
            WhiteningRef other = ref.withSha256("0".repeat(64));
            assertThatThrownBy(() -> new FeatureBatchValidator(spec.withWhitening(other)).validate(b0))
                    .isInstanceOf(InvalidBatchException.class)
                    .hasMessage("manifest_mismatch: whitening_sha256 is " + first.sha256() + ", manifest says "
                            + "0".repeat(64));
        }
    }

    @Test
    void theTeacherCommandCalibratesOnceAndALaterTeacherReadsTheMatrix(TestKafka kafka) throws Exception {
        Path teacherDir = TeacherProcesses.saveCnnTeacher(tmp.resolve("cmd-teacher"), 300);
        String run = "whiten-cmd-" + UUID.randomUUID();
        String[] args = {"--run", run, "--bootstrap-servers", kafka.bootstrapServers(), "--teacher",
                teacherDir.toString(), "--train-limit", "300", "--epochs", "1", "--batch-size", "50", "--norm", "whiten",
                "--feature-dtype", "i8", "--inputs", "reference", "--augment", "flip", "--progress-interval", "0",
                "--instance-id", "first"};
        Path firstLog = tmp.resolve("first.log");
        Process first = TeacherProcesses.start(firstLog, args);
        assertThat(first.waitFor(180, TimeUnit.SECONDS)).as("first teacher finishes").isTrue();
        assertThat(first.exitValue()).as(java.nio.file.Files.readString(firstLog)).isZero();
        assertThat(java.nio.file.Files.readString(firstLog)).contains("whitening calibrated on");

        RunSpec manifest = new io.kdstream.manifest.ManifestStore(kafka.clients()).read(run, Duration.ofSeconds(30))
                .orElseThrow();
        WhiteningRef ref = manifest.whitening();
        assertThat(ref.samples()).as("default calibration: 4 × d_t, at most the training split")
                .isEqualTo(Math.min(4 * manifest.featureDim(), 300));
        assertThat(ref.seed()).isEqualTo(manifest.seed());
        assertThat(new io.kdstream.kafka.WhiteningStore(kafka.clients()).read(run, ref.sha256(), Duration.ofSeconds(30)))
                .as("the whitening is on " + run + ".whitening").isPresent();
        Map<String, FeatureBatch> got = TeacherWorkerIT.readAll(kafka.clients(), manifest, manifest.batchesPerEpoch());
        FeatureBatchValidator validator = new FeatureBatchValidator(manifest);
        for (FeatureBatch fb : got.values()) {
            assertThat(fb.metadata().whiteningSha256()).isEqualTo(ref.sha256());
            assertThat(fb.teacherFeatures().dtype()).isEqualTo(DType.I8);
            validator.validate(fb);
        }

        // a teacher joining the finished run reads the published whitening instead of calibrating
        args[args.length - 1] = "second";
        Path secondLog = tmp.resolve("second.log");
        Process second = TeacherProcesses.start(secondLog, args);
        assertThat(second.waitFor(180, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).as(java.nio.file.Files.readString(secondLog)).isZero();
        assertThat(java.nio.file.Files.readString(secondLog)).doesNotContain("whitening calibrated on")
                .contains("published whitening " + ref.sha256());
    }
}
