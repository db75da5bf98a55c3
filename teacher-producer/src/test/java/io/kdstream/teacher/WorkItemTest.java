package io.kdstream.teacher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * A work item on {@code <run>.work} is read by every teacher of the run, including one of another
 * build during a rolling restart: its key and JSON are the ones 3d90b3f wrote (before issue 36).
 */
class WorkItemTest {

    private static final String WRITTEN_BEFORE = "{\"run_id\":\"pinned-run\",\"epoch\":1,\"first_batch\":8,\"batch_count\":4}";

    @Test
    void keyAndJsonAreTheOnesTeachersAlreadyRead() {
        WorkItem item = new WorkItem("pinned-run", 1, 8, 4);
        assertThat(item.key()).isEqualTo("1/8");
        assertThat(new String(item.toJson(), StandardCharsets.UTF_8)).isEqualTo(WRITTEN_BEFORE);
        assertThat(WorkItem.fromJson(WRITTEN_BEFORE.getBytes(StandardCharsets.UTF_8))).isEqualTo(item);
        assertThat(item.records()).as("its batches and the transaction marker").isEqualTo(5);
    }

    @Test
    void aBrokenItemIsRefusedWithItsReason() {
        assertThatThrownBy(() -> WorkItem.fromJson("{\"run_id\":\"r\",\"epoch\":0,\"first_batch\":0,\"batch_count\":0}"
                .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("invalid work item");
    }
}
