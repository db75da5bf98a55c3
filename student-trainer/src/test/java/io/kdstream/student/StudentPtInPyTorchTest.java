package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.PythonExamples;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * The student.pt kdstream writes, opened by PyTorch itself ({@code torch.jit.load}, Debian's
 * python3-torch): the same logits as kdstream's model on the same input, the frozen parameter
 * still frozen, and the BatchNorm statistics training moved. Skipped without python3-torch.
 */
class StudentPtInPyTorchTest {

    private static final int BATCH = 4;
    private static final int STEPS = 3;

    @TempDir
    Path tmp;

    @Test
    void pyTorchLoadsTheExportedStudentAndComputesKdstreamsLogits() throws Exception {
        String noTorch = PythonExamples.torchMissing();
        Prerequisites.assumeNull(Need.PYTORCH, noTorch);
        float[] logits;
        Path file;
        try (StudentModel model = new StudentModel(TorchScriptStudentTest.config("tiny_student.pt",
                "features,logits").build(), TorchScriptStudentTest.RUN)) {
            for (int i = 0; i < STEPS; i++) {
                try (NDManager step = model.manager().newSubManager()) {
                    model.step(step, TorchScriptStudentTest.fixedInput(step, 16).mul(1 + i),
                            step.create(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5}),
                            step.ones(new Shape(16, 96)), null, 1e-2);
                }
            }
            logits = TorchScriptStudentTest.evalLogits(model);
            file = model.exportStudent(tmp);
        }
        String out;
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON, script().toString(),
                file.toString(), "" + BATCH), tmp, "python")) {
            out = p.assertSuccess(Duration.ofSeconds(120)).stdout();
        }
        JsonNode r = new ObjectMapper().readTree(out);
        assertThat(r.get("outputs").asInt()).isEqualTo(2);
        assertThat(r.get("logits")).hasSize(logits.length);
        for (int i = 0; i < logits.length; i++) {
            assertThat((float) r.get("logits").get(i).asDouble()).as("logit %d", i)
                    .isCloseTo(logits[i], Offset.offset(1e-5f));
        }
        assertThat(r.get("requires_grad").get("offset").asBoolean()).as("frozen stays frozen").isFalse();
        assertThat(r.get("requires_grad").get("conv.weight").asBoolean()).isTrue();
        assertThat(r.get("buffers").get("bn.num_batches_tracked").get(0).asLong())
                .as("BatchNorm counted the training batches").isEqualTo(STEPS);
        List<Double> mean = new ObjectMapper().convertValue(r.get("buffers").get("bn.running_mean"),
                new com.fasterxml.jackson.core.type.TypeReference<List<Double>>() { });
        assertThat(mean).as("running mean moved from its initial zeros").anyMatch(v -> v != 0.0);
    }

    private static Path script() {
        Path p = Path.of("src/test/python/eval_student.py");
        assertThat(p).exists();
        return p.toAbsolutePath();
    }

}
