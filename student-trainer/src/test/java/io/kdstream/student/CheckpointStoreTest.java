package io.kdstream.student;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.codec.DType;
import io.kdstream.codec.Tensor;

class CheckpointStoreTest {

    @TempDir
    Path dir;

    private static Checkpoint checkpoint(long step) {
        TrainedBatches t = new TrainedBatches(1, 2, 3);
        t.add(0, 0, (int) (step % 3));
        return new Checkpoint(Map.of("param/w", Tensor.ofFloats(DType.F32, new int[] {2}, new float[] {step, -step})),
                step, Map.of(0, 10 * step, 1, 5L), t.encode(), Map.of("pass", "0"));
    }

    @Test
    void roundTripsEverythingAndKeepsOnlyTheNewest() throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 2);
        for (long s = 1; s <= 4; s++) {
            store.save(checkpoint(s));
        }
        assertThat(store.steps()).hasSize(2);
        Checkpoint c = store.latestValid().orElseThrow();
        assertThat(c.step()).isEqualTo(4);
        assertThat(c.offsets()).containsEntry(0, 40L).containsEntry(1, 5L);
        assertThat(c.tensors().get("param/w").toFloats()).containsExactly(4f, -4f);
        assertThat(TrainedBatches.decode(c.trained()).contains(0, 0, 1)).isTrue();
        assertThat(c.attributes()).containsEntry("pass", "0");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void corruptOrTruncatedCheckpointsFallBackToThePreviousOne() throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 3);
        store.save(checkpoint(1));
        store.save(checkpoint(2));
        Path newest = store.save(checkpoint(3));

        // flip one byte of the tensor data: still valid safetensors, but the checksum catches it
        try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
            f.seek(f.length() - 1);
            int b = f.read();
            f.seek(f.length() - 1);
            f.write(b ^ 0x40);
        }
        assertThat(store.latestValid().orElseThrow().step()).isEqualTo(2);

        // a partial write of step 2 (as if the machine died mid-copy)
        Path second = store.steps().get(1);
        byte[] bytes = Files.readAllBytes(second);
        Files.write(second, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertThat(store.latestValid().orElseThrow().step()).isEqualTo(1);
    }

    @Test
    void emptyDirectoryHasNoCheckpoint() {
        assertThat(new CheckpointStore(dir.resolve("none"), 1).latestValid()).isEmpty();
    }

    @Test
    void trainedBatchesTrackPassesAndCompletion() {
        TrainedBatches t = new TrainedBatches(2, 2, 2);
        assertThat(t.add(0, 1, 1)).isTrue();
        assertThat(t.add(0, 1, 1)).as("second time is a duplicate").isFalse();
        assertThat(t.countInPass(0)).isEqualTo(1);
        assertThat(t.countInPass(1)).isZero();
        for (int p = 0; p < 2; p++) {
            for (int e = 0; e < 2; e++) {
                for (int b = 0; b < 2; b++) {
                    t.add(p, e, b);
                }
            }
        }
        assertThat(t.complete()).isTrue();
        assertThat(TrainedBatches.decode(t.encode()).count()).isEqualTo(8);
    }
}
