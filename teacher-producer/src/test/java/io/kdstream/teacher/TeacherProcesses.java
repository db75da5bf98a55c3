package io.kdstream.teacher;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.kdstream.data.DatasetRef;
import io.kdstream.data.InputNormalization;
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
    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                TeacherCommand.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts a teacher whose stdout and stderr go to {@code log}. */
    static Process start(Path log, String... args) throws IOException {
        return new ProcessBuilder(command(args)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }
}
