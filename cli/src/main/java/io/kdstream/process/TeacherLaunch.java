package io.kdstream.process;

import java.nio.file.Path;
import java.util.List;

/**
 * What a child teacher-producer streams: its run and broker, the teacher, the training subset,
 * epochs and batch size, how features are normalized, stored and augmented, and its log. Plain
 * data; {@link Orchestrator#startTeacher} turns it into a {@code kdstream teacher} command line
 * (f16 features unless {@link #withFeatureDtype}, inline inputs, logits, seed 7).
 */
public record TeacherLaunch(String run, String bootstrapServers, Path teacherDir, int trainLimit, int epochs,
                            int batchSize, String norm, String featureDtype, String augment, Path log) {

    /** A launch with f16 features. */
    public static TeacherLaunch of(String run, String bootstrapServers, Path teacherDir, Path log) {
        return new TeacherLaunch(run, bootstrapServers, teacherDir, 0, 1, 128, "layer", "f16", "flip", log);
    }

    public TeacherLaunch withData(int trainLimit, int epochs, int batchSize) {
        return new TeacherLaunch(run, bootstrapServers, teacherDir, trainLimit, epochs, batchSize, norm, featureDtype,
                augment, log);
    }

    public TeacherLaunch withFeatures(String norm, String augment) {
        return new TeacherLaunch(run, bootstrapServers, teacherDir, trainLimit, epochs, batchSize, norm, featureDtype,
                augment, log);
    }

    /** Features of {@code featureDtype}: f32, f16, bf16 or i8. */
    public TeacherLaunch withFeatureDtype(String featureDtype) {
        return new TeacherLaunch(run, bootstrapServers, teacherDir, trainLimit, epochs, batchSize, norm, featureDtype,
                augment, log);
    }

    /** The {@code kdstream teacher} arguments, without the device. */
    List<String> args() {
        return List.of("teacher", "--run", run, "--bootstrap-servers", bootstrapServers,
                "--teacher", teacherDir.toString(), "--train-limit", Integer.toString(trainLimit), "--seed", "7",
                "--epochs", Integer.toString(epochs), "--batch-size", Integer.toString(batchSize), "--norm", norm,
                "--feature-dtype", featureDtype, "--inputs", "inline", "--augment", augment, "--logits",
                "--progress-interval", "2");
    }
}
