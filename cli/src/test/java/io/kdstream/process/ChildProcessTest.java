package io.kdstream.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.kdstream.progress.ProgressEvent;

/** What a parent keeps of a child's stdout. */
class ChildProcessTest {

    @Test
    void keepsTheFirstAndLastLinesOfAChattyChildAndEveryProgressEvent() throws Exception {
        // 100,001 text lines (one of 10,000 characters) and a progress event in the middle
        String script = "echo bootstrap.servers=127.0.0.1:9092; seq 1 50000; head -c 10000 /dev/zero | tr '\\0' x; echo;"
                + " echo '{\"event\":\"eval\",\"role\":\"student\",\"group\":\"g\",\"step\":3,\"accuracy\":0.5,\"loss\":1.0}'; seq 50001 99998; echo result=ok";
        List<ProgressEvent> events = new ArrayList<>();
        ChildProcess child = ChildProcess.of("chatty", new ProcessBuilder("sh", "-c", script).start(), events::add);
        assertThat(child.waitFor()).isZero();

        List<String> lines = child.textLines();
        int kept = ChildProcess.KEPT_LINES;
        assertThat(lines).hasSize(2 * kept);
        assertThat(lines.get(0)).isEqualTo("bootstrap.servers=127.0.0.1:9092");
        assertThat(lines.get(kept - 1)).isEqualTo(Integer.toString(kept - 1));
        assertThat(lines.get(lines.size() - 1)).isEqualTo("result=ok");
        assertThat(lines.get(lines.size() - 2)).isEqualTo("99998");
        assertThat(child.droppedLines()).isEqualTo(100_001 - 2 * kept);
        assertThat(events).hasSize(1);
    }

    @Test
    void cutsAVeryLongLine() throws Exception {
        ChildProcess child = ChildProcess.of("long", new ProcessBuilder("sh", "-c",
                "head -c 100000 /dev/zero | tr '\\0' x; echo; echo after").start(), e -> { });
        assertThat(child.waitFor()).isZero();
        assertThat(child.textLines()).hasSize(2);
        assertThat(child.textLines().get(0)).hasSize(ChildProcess.KEPT_CHARS).matches("x+");
        assertThat(child.textLines().get(1)).isEqualTo("after");
    }
}
