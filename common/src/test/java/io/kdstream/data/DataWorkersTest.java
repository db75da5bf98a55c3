package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batches read from disk by several data workers are the bytes one thread reads. */
class DataWorkersTest {

    @TempDir
    Path tmp;

    @Test
    void theNumberOfWorkersDoesNotChangeABatch() throws IOException {
        new SyntheticCorpus(3, 2, 90, 0).write(tmp, 11, 0);
        ImageDataset ds = ImageFolderReader.read(tmp.resolve("train"), "c", Split.TRAIN, new ImageSize(20, 24));
        AugmentPolicy policy = AugmentPolicy.parse("crop+flip");
        try (DataWorkers three = DataWorkers.of(3)) {
            BatchSource one = new BatchSource(ds, 9, 4, policy);
            BatchSource many = new BatchSource(ds, 9, 4, policy, three);
            for (int b = 0; b < one.batchesPerEpoch(); b++) {
                Batch a = one.batch(1, b);
                Batch c = many.batch(1, b);
                assertThat(c.sampleIds()).isEqualTo(a.sampleIds());
                assertThat(c.inputs()).as("batch %d", b).isEqualTo(a.inputs());
                assertThat(many.replay(1, b, a.sampleIds(), a.augSeeds()).inputs()).isEqualTo(a.inputs());
            }
        }
    }

    @Test
    void aWorkersFailureReachesTheCallerWithItsMessage() throws IOException {
        new SyntheticCorpus(2, 2, 90, 0).write(tmp, 6, 0);
        ImageDataset ds = ImageFolderReader.read(tmp.resolve("train"), "c", Split.TRAIN, new ImageSize(8, 8));
        Path victim = tmp.resolve("train/c1/00000003.jpg");
        Files.write(victim, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, 0, 1, 2});
        try (DataWorkers two = DataWorkers.of(2)) {
            BatchSource src = new BatchSource(ds, 1, 6, AugmentPolicy.NONE, two);
            long[] ids = {0, 1, 2, 3, 4, 5};
            // a replay must rebuild every sample it is given: an unreadable one fails it
            assertThatThrownBy(() -> src.replay(0, 0, ids, new long[6])).isInstanceOf(UncheckedIOException.class)
                    .hasMessageStartingWith("cannot read image " + victim + ": ");
        }
        assertThatThrownBy(() -> DataWorkers.of(0)).hasMessageContaining("--data-workers");
    }

    @Test
    void aWorkerHeldUpOnOneSampleDoesNotHoldUpTheRestOfTheBatch() {
        // sample 0 waits until the other seven are done: with a fixed half of the batch per worker, the
        // three samples behind it in its half could not start, and it would wait out its deadline
        CountDownLatch others = new CountDownLatch(7);
        AtomicBoolean sawTheOthersDone = new AtomicBoolean();
        try (DataWorkers two = DataWorkers.of(2)) {
            two.forEach(8, i -> {
                if (i == 0) {
                    try {
                        sawTheOthersDone.set(others.await(20, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                } else {
                    others.countDown();
                }
            });
        }
        assertThat(sawTheOthersDone).isTrue();
    }

    @Test
    void everyIndexIsRunExactlyOnce() {
        AtomicIntegerArray runs = new AtomicIntegerArray(1000);
        try (DataWorkers three = DataWorkers.of(3)) {
            three.forEach(1000, runs::incrementAndGet);
        }
        for (int i = 0; i < 1000; i++) {
            assertThat(runs.get(i)).as("index %d", i).isEqualTo(1);
        }
    }
}
