package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.PythonExamples;
import io.kdstream.manifest.RunSpec;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;
import io.kdstream.data.DatasetRef;
import io.kdstream.data.ImageDataset;
import io.kdstream.data.InputNormalization;
import io.kdstream.data.RequiresDataset;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.model.Architecture;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * A zoo student trained from a real stream, exported from its best checkpoint as the export
 * command does, scores in PyTorch (examples/zoo.py) what kdstream reported, on the same images
 * with the same normalization.
 */
@RequiresDataset
@ExtendWith(KafkaExtension.class)
class ZooExportIT {

    private static final DatasetRef DATA = new DatasetRef("fashion-mnist", 1.0, 1200, 3);

    @TempDir
    Path tmp;

    @Test
    void theExportedBestStudentScoresInPyTorchWhatKdstreamReported(TestKafka kafka) throws Exception {
        String noTorch = PythonExamples.torchMissing();
        Prerequisites.assumeNull(Need.PYTORCH, noTorch);
        RunSpec spec = FeatureStreams.produce(kafka.clients(), "export-" + UUID.randomUUID(), DATA, 64, 2,
                InputMode.REFERENCE);
        ImageDataset train = DATA.train();
        ImageDataset test = DATA.test().subset(1.0, 1000, 1);
        InputNormalization norm = InputNormalization.forDataset(train);
        Path dir = tmp.resolve("ckpt");
        StudentTrainer.Result r = StudentTrainer.builder().setClients(kafka.clients()).setRun(spec).setGroup("export")
                .setCheckpointDir(dir).setInputNormalization(norm).optTrainData(train).optTestData(test)
                .optIdleTimeout(Duration.ofSeconds(30))
                .optConfig(StudentConfig.builder().optArch(Architecture.CNN).optLr(3e-3).optSeed(1L).build())
                .build().run();
        assertThat(r.outcome()).isEqualTo(StudentTrainer.Outcome.COMPLETED);

        Path out = tmp.resolve("student.safetensors");
        ZooExport.Result exported = ZooExport.export(ZooExport.select(dir, ZooExport.Which.BEST), out);
        assertThat(exported.bestAccuracy()).isEqualTo(r.bestAccuracy());

        int n = test.size();
        byte[] px = new byte[n * test.sampleSize()];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            test.copyPixels(i, px, i * test.sampleSize());
            labels[i] = test.label(i);
        }
        Map<String, Tensor> input = new LinkedHashMap<>();
        input.put("x", Tensor.ofFloats(DType.F32, new int[] {n, 1, 28, 28}, norm.normalize(px, 1, 28 * 28)));
        input.put("labels", Tensor.ofLongs(new int[] {n}, labels));
        Path inputFile = tmp.resolve("test.safetensors");
        SafeTensors.write(inputFile, input, Map.of());

        JsonNode py;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON,
                PythonExamples.script("zoo.py").toString(), out.toString(), inputFile.toString()), tmp, "zoo")) {
            py = new ObjectMapper().readTree(p.assertSuccess(Duration.ofSeconds(300)).stdout());
        }
        assertThat(py.get("accuracy").asDouble()).as("PyTorch accuracy of the exported best student")
                .isCloseTo(r.bestAccuracy(), within(0.001));
    }
}
