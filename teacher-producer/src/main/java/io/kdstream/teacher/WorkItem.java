package io.kdstream.teacher;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;

/**
 * A unit of teacher work on {@code <run>.work}: batches {@code [firstBatch, firstBatch + batchCount)}
 * of one epoch. Processed in one Kafka transaction, so it is the granularity of redo after a crash.
 */
public record WorkItem(String runId, int epoch, int firstBatch, int batchCount) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    public WorkItem {
        if (epoch < 0 || firstBatch < 0 || batchCount <= 0) {
            throw new IllegalArgumentException("invalid work item " + epoch + "/" + firstBatch + "+" + batchCount);
        }
    }

    /** Records it adds to {@code <run>.features}: its batches and a transaction marker. */
    public long records() {
        return batchCount + 1L;
    }

    public String key() {
        return epoch + "/" + firstBatch;
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static WorkItem fromJson(byte[] json) {
        try {
            return JSON.readValue(json, WorkItem.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("invalid work item: " + e.getMessage(), e);
        }
    }
}
