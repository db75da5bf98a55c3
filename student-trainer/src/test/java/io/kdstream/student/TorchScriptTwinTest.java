package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.PythonExamples;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.model.Architecture;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * A zoo student and its PyTorch twin (its initial weights scripted by {@code examples/zoo.py}, as the
 * study's VkD-ts row builds it) train alike step for step through {@link StudentModel}, with an
 * evaluation and a checkpoint in between: the same losses and evaluation logits, to float32 rounding.
 */
class TorchScriptTwinTest {

    private static final int STEPS = 6;

    @TempDir
    Path tmp;

    @Test
    void aZooStudentAndItsTorchScriptTwinTrainAlikeFromTheSameWeights() throws Exception {
        String missing = PythonExamples.torchMissing();
        Prerequisites.assumeNull(Need.PYTORCH, missing);
        StudentConfig zooConfig = config().optArch(Architecture.CNN).build();
        Path twin = twinOf(zooConfig);
        try (StudentModel zoo = new StudentModel(zooConfig, TorchScriptStudentTest.RUN);
             StudentModel ts = new StudentModel(config().optTorchScriptStudent(twin, "features,logits").build(),
                     TorchScriptStudentTest.RUN)) {
            assertClose(TorchScriptStudentTest.evalLogits(ts), TorchScriptStudentTest.evalLogits(zoo), 1e-5f,
                    "logits before training");
            for (int i = 0; i < STEPS; i++) {
                StudentModel.StepResult z = TorchScriptStudentTest.step(zoo, i, 1e-2);
                StudentModel.StepResult t = TorchScriptStudentTest.step(ts, i, 1e-2);
                assertThat(t.ce()).as("cross-entropy at step %d", i).isCloseTo(z.ce(), within(1e-4 * (1 + z.ce())));
                assertThat(t.feature()).as("feature loss at step %d", i)
                        .isCloseTo(z.feature(), within(1e-4 * (1 + z.feature())));
                if (i == 1) { // as a run does between steps: evaluate, then checkpoint
                    assertClose(TorchScriptStudentTest.evalLogits(ts), TorchScriptStudentTest.evalLogits(zoo), 1e-3f,
                            "logits at step " + i);
                    assertThat(ts.stateTensors()).isNotEmpty();
                    assertThat(zoo.stateTensors()).isNotEmpty();
                }
            }
            assertClose(TorchScriptStudentTest.evalLogits(ts), TorchScriptStudentTest.evalLogits(zoo), 1e-3f,
                    "logits after " + STEPS + " steps (running statistics included)");
        }
    }

    /** The study's recipe, at a learning rate that moves the weights visibly in a few steps. */
    private static StudentConfig.Builder config() {
        return StudentConfig.builder().optLr(1e-2).optWeightDecay(5e-4).optSchedule(LrSchedule.Kind.CONSTANT)
                .optWarmupSteps(0).optSeed(3L);
    }

    /** The weights the zoo student starts from ({@link ZooExport#initialWeights}), scripted by zoo.py. */
    private Path twinOf(StudentConfig zooConfig) throws Exception {
        Path weights = tmp.resolve("zoo.safetensors");
        ZooExport.initialWeights(Architecture.CNN, 1, 28, 28, 10, zooConfig.seed(), weights);
        Path twin = tmp.resolve("twin.pt");
        Path log = tmp.resolve("zoo.log");
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON,
                PythonExamples.script("zoo.py").toString(), "script", weights.toString(), twin.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()))) {
            p.assertSuccess(Duration.ofSeconds(300));
        }
        return twin;
    }

    private static void assertClose(float[] actual, float[] expected, float tolerance, String what) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("%s [%d]", what, i).isCloseTo(expected[i], within(tolerance * (1 + Math.abs(expected[i]))));
        }
    }
}
