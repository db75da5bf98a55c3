package io.kdstream.teacher;

import java.io.IOException;
import java.nio.file.Path;

import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
import io.kdstream.lifecycle.KdstreamJvm;
import io.kdstream.model.Architecture;
import io.kdstream.model.DjlFeatureModel;

/** Teacher-producers as real JVMs for process-level tests: saved teacher, command line, launch. */
final class TeacherProcesses {

    private TeacherProcesses() {
    }

    /** Saves a small untrained CNN teacher for Fashion-MNIST under {@code dir}. */
    static Path saveCnnTeacher(Path dir, int trainLimit) throws IOException {
        DatasetRef data = new DatasetRef("fashion-mnist", 1.0, trainLimit, 1);
        try (DjlFeatureModel teacher = DjlFeatureModel.create(Architecture.CNN, 1, 28, 28, 10, "fashion-mnist",
                InputNormalization.forDataset(data.train()))) {
            teacher.save(dir);
        }
        return dir;
    }

    /** {@code java ... TeacherCommand} on this test's classpath, followed by {@code args}. */
    static KdstreamJvm.Builder jvm(String... args) {
        return KdstreamJvm.mainClass(TeacherCommand.class, args).optHeap("512m");
    }

    /** Starts a teacher whose stdout and stderr go to {@code log}. */
    static Process start(Path log, String... args) throws IOException {
        return jvm(args).optLog(log).build().start();
    }
}
