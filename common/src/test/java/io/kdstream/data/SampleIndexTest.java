package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lazy image folders and tar shards: one index, cached, rebuilt when the split changed. */
class SampleIndexTest {

    @TempDir
    Path tmp;

    @Test
    void tarShardsReadTheSamePixelsAndLabelsAsTheSameImagesInAFolder() throws IOException {
        new SyntheticCorpus(3, 5, 90, 0).write(tmp.resolve("folder"), 7, 0);
        new SyntheticCorpus(3, 5, 90, 3).write(tmp.resolve("shards"), 7, 0);
        ImageSize size = new ImageSize(24, 32);
        ImageDataset folder = ImageFolderReader.read(tmp.resolve("folder/train"), "f", Split.TRAIN, size);
        ImageDataset shards = ImageFolderReader.read(tmp.resolve("shards/train"), "s", Split.TRAIN, size);
        assertThat(shards.inMemory()).isFalse();
        assertThat(shards.size()).isEqualTo(7);
        assertThat(new int[] {shards.channels(), shards.height(), shards.width(), shards.numClasses()})
                .containsExactly(3, 24, 32, 3);
        // the folder is ordered by class, the shards by key: key k is class k % 3 in both
        for (int id = 0; id < 7; id++) {
            assertThat(shards.label(id)).isEqualTo(id % 3);
            int inFolder = folderRank(id, 7, 3);
            assertThat(folder.label(inFolder)).isEqualTo(id % 3);
            assertThat(shards.pixels(id)).as("key %d", id).isEqualTo(folder.pixels(inFolder));
        }
        assertThatThrownBy(() -> ImageFolderReader.read(tmp.resolve("shards/train"), "s", Split.TRAIN, null))
                .hasMessageContaining("--image-size");
    }

    /** Rank of key {@code id} in class-then-key order when key k has class k % classes. */
    private static int folderRank(int id, int n, int classes) {
        int rank = 0;
        for (int k = 0; k < n; k++) {
            if (k % classes < id % classes || (k % classes == id % classes && k < id)) {
                rank++;
            }
        }
        return rank;
    }

    @Test
    void theIndexIsCachedAndAChangedFolderIsListedAgainNotMixed() throws IOException {
        new SyntheticCorpus(2, 1, 90, 0).write(tmp, 4, 0);
        Path train = tmp.resolve("train");
        // written just now: within the clock's resolution of a listing, so not cached (a change
        // right after could keep the same times)
        SampleIndex.of(train);
        Path cache = SampleIndex.cacheFile(train);
        assertThat(cache).doesNotExist();
        long past = System.currentTimeMillis() - 60_000;
        for (Path p : new Path[] {train, train.resolve("c0"), train.resolve("c1")}) {
            Files.setLastModifiedTime(p, FileTime.fromMillis(past));
        }
        SampleIndex first = SampleIndex.of(train);
        assertThat(cache).isRegularFile();
        FileTime written = Files.getLastModifiedTime(cache);
        SampleIndex again = SampleIndex.of(train);
        assertThat(again.digest()).isEqualTo(first.digest());
        assertThat(Files.getLastModifiedTime(cache)).as("read from the cache, not rewritten").isEqualTo(written);

        Files.copy(train.resolve("c0/00000000.jpg"), train.resolve("c0/00000000a.jpg"));
        // the copy made c0 newer than the cached listing
        SampleIndex changed = SampleIndex.of(train);
        assertThat(changed.size()).isEqualTo(5);
        assertThat(changed.digest()).isNotEqualTo(first.digest());
        assertThat(ImageFolderReader.read(train, "t", Split.TRAIN, new ImageSize(8, 8)).size()).isEqualTo(5);
    }

    @Test
    void aDamagedCacheFileIsIgnoredAndRebuilt() throws IOException {
        new SyntheticCorpus(2, 1, 90, 2).write(tmp, 4, 0);
        Path train = tmp.resolve("train");
        Files.setLastModifiedTime(train, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        try (var shards = Files.list(train)) {
            for (Path p : shards.toList()) {
                Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
            }
        }
        String digest = SampleIndex.of(train).digest();
        Path cache = SampleIndex.cacheFile(train);
        byte[] bytes = Files.readAllBytes(cache);
        bytes[bytes.length - 40] ^= 1;
        Files.write(cache, bytes);
        assertThat(SampleIndex.of(train).digest()).isEqualTo(digest);
    }
}
