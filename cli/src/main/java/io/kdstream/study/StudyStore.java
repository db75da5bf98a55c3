package io.kdstream.study;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Objects;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kdstream.experiment.StudentState;
import io.kdstream.experiment.StudentSummary;

/**
 * The finished students of a study, one {@link StudentSummary} JSON file each under
 * {@code students/}: what makes a study resumable. Only a student that exited 0 having trained
 * every batch is stored; a restarted study loads those and trains the rest (an interrupted
 * student resumes from its own checkpoint).
 */
final class StudyStore {
    // a field added to the summary later must not make older stores unreadable, nor the reverse
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

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
        Path tmp = dir.resolve(s.group() + ".json.tmp");
        JSON.writeValue(tmp.toFile(), s.summary());
        Files.move(tmp, dir.resolve(s.group() + ".json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Fills {@code s} from its stored result and returns true, or false if it has not finished yet. */
    boolean restore(StudentState s) throws IOException {
        Path f = dir.resolve(s.group() + ".json");
        if (!Files.isRegularFile(f)) {
            return false;
        }
        StudentSummary stored = JSON.readValue(f.toFile(), StudentSummary.class);
        if (!Objects.equals(stored.args(), s.experiment().objectiveArgs())) {
            return false; // same name, different objective: train it again
        }
        s.restore(stored);
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
