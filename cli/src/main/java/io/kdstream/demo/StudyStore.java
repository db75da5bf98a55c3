package io.kdstream.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The finished students of a study, one JSON file each under {@code students/}: what makes a study
 * resumable. Only a student that exited 0 having trained every batch is stored; a restarted study
 * loads those and trains the rest (an interrupted student resumes from its own checkpoint).
 */
final class StudyStore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    StudyStore(Path studyDir) {
        this.dir = studyDir.resolve("students");
    }

    /** Records a finished student (atomically: a half-written file never counts as finished). */
    void save(StudentState s) throws IOException {
        if (!s.succeeded()) {
            return;
        }
        Files.createDirectories(dir);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("group", s.group);
        m.put("variant", s.experiment.variant());
        m.put("seed", s.experiment.seed());
        m.put("args", s.experiment.objectiveArgs());
        m.put("accuracy", s.finalAccuracy);
        m.put("trained", s.trained);
        m.put("total", s.total);
        m.put("exit_code", s.exitCode);
        m.put("wall_seconds", s.wallSeconds());
        m.put("samples_per_second", s.samplesPerSecond);
        m.put("eval_curve", s.evalCurve());
        m.put("loss_curve", s.lossCurve());
        Path tmp = dir.resolve(s.group + ".json.tmp");
        JSON.writeValue(tmp.toFile(), m);
        Files.move(tmp, dir.resolve(s.group + ".json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Fills {@code s} from its stored result and returns true, or false if it has not finished yet. */
    boolean restore(StudentState s) throws IOException {
        Path f = dir.resolve(s.group + ".json");
        if (!Files.isRegularFile(f)) {
            return false;
        }
        JsonNode m = JSON.readTree(f.toFile());
        if (!m.path("args").toString().equals(JSON.valueToTree(s.experiment.objectiveArgs()).toString())) {
            return false; // same name, different objective: train it again
        }
        s.finalAccuracy = m.path("accuracy").asDouble(Double.NaN);
        s.trained = m.path("trained").asLong();
        s.total = m.path("total").asLong();
        s.exitCode = m.path("exit_code").asInt();
        s.samplesPerSecond = m.path("samples_per_second").asDouble();
        long wall = (long) (m.path("wall_seconds").asDouble() * 1e9);
        s.startNanos = 1;
        s.endNanos = 1 + wall;
        s.status = "done (stored)";
        for (JsonNode p : m.path("eval_curve")) {
            s.evals.add(new double[] {p.get(0).asDouble(), p.get(1).asDouble()});
        }
        for (JsonNode p : m.path("loss_curve")) {
            s.losses.add(new double[] {p.get(0).asDouble(), p.get(1).asDouble()});
        }
        return s.succeeded();
    }

    List<Path> files() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var st = Files.list(dir)) {
            return st.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }
}
