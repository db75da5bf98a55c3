package io.kdstream.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/**
 * Bad images in a long run: left out of their batch, the same way in every epoch and process, one
 * line each, counted; a CMYK JPEG and a PNG named .jpg are not bad. With either JPEG decoder.
 */
class UnreadableSamplesTest {

    @TempDir
    Path tmp;

    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

    @BeforeEach
    void capture() {
        lines.start();
        ((Logger) LoggerFactory.getLogger(UnreadableSamples.class)).addAppender(lines);
        ((Logger) LoggerFactory.getLogger(SampleIndex.class)).addAppender(lines);
    }

    @AfterEach
    void release() {
        ((Logger) LoggerFactory.getLogger(UnreadableSamples.class)).detachAppender(lines);
        ((Logger) LoggerFactory.getLogger(SampleIndex.class)).detachAppender(lines);
    }

    private List<String> warnings() {
        return lines.list.stream().filter(e -> e.getLevel().toString().equals("WARN"))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    @ParameterizedTest
    @EnumSource(value = JpegDecoder.class, names = {"TURBO", "JAVA"})
    void aCorruptAndATruncatedJpegAreLeftOutOfTheirBatchInEveryEpochAndReportedOnce(JpegDecoder decoder) throws IOException {
        if (decoder == JpegDecoder.TURBO) {
            TurboJpegParityTest.assumeLibjpegTurbo();
        }
        new SyntheticCorpus(2, 4, 90, 0).write(tmp, 8, 0);
        Path train = tmp.resolve("train");
        Path garbage = train.resolve("c0/00000002.jpg");
        Files.write(garbage, "not a jpeg at all".getBytes());
        Path cut = train.resolve("c1/00000005.jpg");
        byte[] whole = Files.readAllBytes(cut);
        Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
        // a PNG named .jpg is read by its content, as Pillow does
        BufferedImage png = ImageIO.read(train.resolve("c0/00000004.jpg").toFile());
        ImageIO.write(png, "png", train.resolve("c0/00000004.jpg").toFile());

        ImageDataset ds = ImageFolderReader.read(train, "bad", Split.TRAIN, new ImageSize(16, 16), 1.0, decoder);
        assertThat(ds.size()).as("every file keeps its id").isEqualTo(8);
        long garbageId = 1; // c0: 0, 2, 4, 6 -> rank 1
        long cutId = 6;     // c1: 1, 3, 5, 7 -> rank 4 + 2
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (DataWorkers two = DataWorkers.of(2)) {
            BatchSource src = new BatchSource(ds, 3, 3, AugmentPolicy.parse("flip"), two);
            src.unreadable().bindTo(registry);
            for (int epoch = 0; epoch < 2; epoch++) {
                int[] order = src.epochOrder(epoch);
                long seen = 0;
                for (int b = 0; b < src.batchesPerEpoch(); b++) {
                    Batch batch = src.batch(epoch, b);
                    int planned = Math.min(3, order.length - 3 * b);
                    long bad = Arrays.stream(order, 3 * b, 3 * b + planned)
                            .filter(p -> ds.sampleId(p) == garbageId || ds.sampleId(p) == cutId).count();
                    assertThat(batch.size()).as("epoch %d batch %d", epoch, b).isEqualTo(planned - bad);
                    assertThat(batch.sampleIds()).doesNotContain(garbageId, cutId);
                    // the others are where the plan put them, and a student replays them exactly
                    assertThat(batch.sampleIds()).containsExactly(Arrays.stream(order, 3 * b, 3 * b + planned)
                            .mapToLong(ds::sampleId).filter(id -> id != garbageId && id != cutId).toArray());
                    assertThat(src.replay(epoch, b, batch.sampleIds(), batch.augSeeds()).inputs()).isEqualTo(batch.inputs());
                    seen += batch.size();
                }
                assertThat(seen).isEqualTo(6);
            }
        }
        assertThat(registry.get("kdstream.data.unreadable.samples").gauge().value()).isEqualTo(2.0);
        // the name the KdstreamUnreadableSamples alert and the dashboard query
        assertThat(registry.scrape()).containsPattern("(?m)^kdstream_data_unreadable_samples(\\{[^}]*})? 2\\.0$");
        List<String> w = warnings();
        assertThat(w).filteredOn(l -> l.contains(garbage.toString())).singleElement().asString()
                .startsWith("cannot read image " + garbage + ": not a PNG or JPEG")
                .endsWith("(sample id 1): left out of its batch in every epoch").doesNotContain("\n");
        assertThat(w).filteredOn(l -> l.contains(cut.toString())).singleElement().asString()
                .startsWith("cannot read image " + cut + ": truncated: ").doesNotContain("\n");
    }

    @Test
    void aTruncatedShardKeepsItsWholeMembersAndLeavesTheCutOneOut() throws IOException {
        new SyntheticCorpus(2, 4, 90, 4).write(tmp, 8, 0);
        Path shard = tmp.resolve("train/shard-000001.tar");
        byte[] bytes = Files.readAllBytes(shard);
        long cutAt = -1;
        try (org.apache.commons.compress.archivers.tar.TarFile tar = new org.apache.commons.compress.archivers.tar.TarFile(shard)) {
            for (var e : tar.getEntries()) {
                if (e.getName().equals("00000007.jpg")) {
                    cutAt = e.getDataOffset() + e.getSize() / 2; // half of key 7's image, before its .cls
                }
            }
        }
        Files.write(shard, Arrays.copyOf(bytes, (int) cutAt));
        ImageDataset ds = ImageFolderReader.read(tmp.resolve("train"), "cut", Split.TRAIN, new ImageSize(8, 8));
        BatchSource src = new BatchSource(ds, 1, 8, AugmentPolicy.NONE);
        Batch all = src.inOrder(0);
        assertThat(all.sampleIds()).containsExactly(0, 1, 2, 3, 4, 5, 6);
        assertThat(warnings()).singleElement().asString().startsWith("tar shard " + shard + " is truncated")
                .contains("00000007 is cut off").doesNotContain("\n");
    }

    @Test
    void aCmykJpegReadsAsRgb() throws IOException {
        Path dir = tmp.resolve("cmyk/a");
        Files.createDirectories(dir);
        // 4-band raster: the JDK's writer stores it as an Adobe CMYK JPEG
        WritableRaster r = Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                r.setPixel(x, y, new int[] {0, 255, 255, 255});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream s = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(s);
            writer.write(null, new IIOImage(r, null, null), null);
        } finally {
            writer.dispose();
        }
        Files.write(dir.resolve("cmyk.jpg"), out.toByteArray());
        ImageDataset ds = ImageFolderReader.read(tmp.resolve("cmyk"), "cmyk", Split.TRAIN, new ImageSize(8, 8));
        assertThat(ds.channels()).isEqualTo(3);
        byte[] px = ds.pixels(0);
        // one colour all over, and the one the file holds: not grey, not what a failed decode leaves
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 64; i++) {
                assertThat(px[c * 64 + i]).isEqualTo(px[c * 64]);
            }
        }
        assertThat(new int[] {px[0] & 0xff, px[64] & 0xff, px[128] & 0xff}).doesNotHaveDuplicates();
        assertThat(warnings()).isEmpty();
    }
}
