package io.kdstream.manifest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.kdstream.data.AugmentPolicy;
import io.kdstream.vkd.Normalization;
import io.kdstream.codec.DType;
import io.kdstream.codec.InputMode;
import io.kdstream.codec.BatchMetadata;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.codec.FeatureBatchSerializer;
import io.kdstream.codec.TestBatches;

/**
 * The {@code <run>.manifest} wire: manifests written by the build of 2026-12-07 (before RunSpec was
 * typed; fixtures under {@code src/test/resources/manifest}) read back and re-encode to the same
 * bytes and the same digest, so runs published before a change to RunSpec keep matching it.
 */
class ManifestWireTest {

    @ParameterizedTest
    @CsvSource({
            "legacy, 2d65a125366c40731bdbb5e4038fc88b6cf116540c652555880870a746e3d147",
            "whiten, 46660a0049a31cb714ad342af705c668867c44b24bffa3409dd5677c0f730504",
            "whiten-batch, 234c7b9aa955c9ab39392ba5107c6386753c9ab5a9d8aa699aaf41d2069bb942",
    })
    void aManifestWrittenBeforeReadsBackToTheSameBytesAndDigest(String name, String digest) throws IOException {
        byte[] written = fixture(name);
        RunSpec spec = RunSpec.fromJson(written);
        assertArrayEquals(written, spec.toJson(), () -> new String(spec.toJson()));
        assertEquals(digest, spec.digest());
        assertEquals(spec, RunSpec.fromJson(spec.toJson()));
    }

    @Test
    void theBuilderWritesTheSameManifestAsThePositionalConstructorDid() throws IOException {
        RunSpec legacy = RunSpec.builder().setRunId("pinned-run")
                .setSource("fashion-mnist/train?limit=512&seed=7", 10, List.of(1, 28, 28))
                .setTeacher("teacher-sha256-abc", "pool").setFeatures(64, Normalization.LAYER, DType.F16)
                .optLogitClasses(10).optInputMode(InputMode.REFERENCE).optAugmentation(AugmentPolicy.parse("crop+flip"))
                .setStream(8, 4, 2, 7L).build();
        assertArrayEquals(fixture("legacy"), legacy.toJson());
        RunSpec whiten = RunSpec.fromJson(fixture("whiten"));
        assertEquals(Normalization.WHITEN, whiten.normalization());
        assertEquals(AugmentPolicy.parse("flip+erase+crop:2"), whiten.augmentation());
        assertEquals(whiten, whiten.toBuilder().build());
        assertEquals(Normalization.WHITEN_BATCH, RunSpec.fromJson(fixture("whiten-batch")).normalization());
    }

    /**
     * A feature record's bytes (safetensors header with its metadata, tensors), as the producer's
     * serializer writes them, are pinned the same way, and so are its key and headers.
     */
    @ParameterizedTest
    @CsvSource({
            "whiten-batch, afea3d735e4dfa18a6a4c9e87639bf5fb029bd95f32efcae5bfc191e7dac7d5d",
            "whiten, 7276e6092dde6fb20c175a25ed6cac620f19c6da2304e4b36e32dfe2ab38de2d",
    })
    void aFeatureRecordKeepsItsBytes(String name, String sha256) throws Exception {
        RunSpec spec = RunSpec.fromJson(fixture(name));
        FeatureBatch b = TestBatches.batch(spec, 1, 0, 42);
        BatchMetadata m = new BatchMetadata(1, spec.runId(), 1, 0, spec.teacherId(), spec.normalization(),
                "teacher-test", name.equals("whiten") ? "b".repeat(64) : null);
        FeatureBatch batch = new FeatureBatch(m, b.teacherFeatures(), b.teacherLogits(), b.labels(), b.sampleIds(),
                b.augSeeds(), b.inputs(), b.featureScales());
        RecordHeaders headers = new RecordHeaders();
        byte[] value;
        try (FeatureBatchSerializer serializer = new FeatureBatchSerializer()) {
            value = serializer.serialize(spec.runId() + ".features", headers, batch);
        }
        assertEquals(sha256, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value)));
        assertEquals(m, FeatureBatch.decode(value).metadata());
        // the key and headers a consumer routes or drops by without decoding (README, "Wire format")
        assertEquals("1/0", batch.recordKey());
        List<String> expected = new ArrayList<>(List.of("kdstream.run=" + spec.runId(), "kdstream.epoch=1",
                "kdstream.batch=0", "kdstream.schema=1", "kdstream.teacher=" + spec.teacherId()));
        if (name.equals("whiten")) {
            expected.add("kdstream.whitening=" + "b".repeat(64));
        }
        List<String> sent = new ArrayList<>();
        headers.forEach(h -> sent.add(h.key() + "=" + new String(h.value(), StandardCharsets.UTF_8)));
        assertEquals(expected, sent);
    }

    static byte[] fixture(String name) throws IOException {
        try (InputStream in = ManifestWireTest.class.getResourceAsStream("/manifest/manifest-" + name + ".json")) {
            return in.readAllBytes();
        }
    }
}
