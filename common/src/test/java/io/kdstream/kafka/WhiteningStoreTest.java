package io.kdstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.kdstream.codec.DType;
import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.WhiteningRef;
import io.kdstream.vkd.CalibratedWhitening;
import io.kdstream.vkd.Normalization;

/** The whitening's record layout on {@code <run>.whitening}, and its reference in the manifest. */
class WhiteningStoreTest {

    @Test
    void aWhiteningBiggerThanARecordTravelsInChunksAndComesBackBitForBit() {
        int d = 50;
        Random r = new Random(2);
        float[] x = new float[200 * d];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() + (i % d) * 0.1f;
        }
        CalibratedWhitening w = CalibratedWhitening.accumulator(d).add(x, 200).finish(1e-2);
        List<byte[]> chunks = WhiteningStore.encode(w.sha256(),
                new WhiteningStore.Tensors(w.mean(), w.matrix(), w.epsilon()), 8 * d * 7); // 7 rows a record
        assertThat(chunks).hasSize(8);
        Map<Integer, byte[]> got = new HashMap<>();
        for (int i = chunks.size() - 1; i >= 1; i--) {
            got.put(i, chunks.get(i)); // any order
        }
        assertThat(WhiteningStore.decode(got)).as("chunk 0 missing").isEmpty();
        got.put(0, chunks.get(0));
        WhiteningStore.Tensors t = WhiteningStore.decode(got).orElseThrow();
        CalibratedWhitening back = CalibratedWhitening.verified(t.mean(), t.matrix(), t.epsilon(), w.sha256());
        assertThat(back.sha256()).isEqualTo(w.sha256());
        assertThat(back.matrix()).containsExactly(w.matrix());
        assertThat(back.epsilon()).isEqualTo(w.epsilon());
        assertThatThrownBy(() -> CalibratedWhitening.verified(t.mean(), t.matrix(), t.epsilon(), "f".repeat(64)))
                .hasMessageContaining("hashes to");
        got.remove(3);
        assertThat(WhiteningStore.decode(got)).as("a chunk missing").isEmpty();
    }

    @Test
    void theManifestRecordsTheCalibrationAndOlderManifestsStillLoad() {
        RunSpec plain = RunSpec.builder().setRunId("w").setSource("synthetic", 10, List.of(1, 2, 2))
                .setTeacher("teacher", "pool").setFeatures(8, Normalization.WHITEN, DType.F16)
                .setStream(4, 1, 1, 5L).build();
        RunSpec whitened = plain.withWhitening(new WhiteningRef(32, 5L, 1e-2, "a".repeat(64)));
        String json = new String(whitened.toJson(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(json).contains("\"whitening\":{\"samples\":32,\"seed\":5,\"shrinkage\":0.01,\"sha256\":\"" + "a".repeat(64));
        assertThat(RunSpec.fromJson(whitened.toJson())).isEqualTo(whitened);
        // a manifest from before the field: same JSON and digest as before, and loads
        assertThat(new String(plain.toJson(), java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("whitening");
        assertThat(RunSpec.fromJson(plain.toJson())).isEqualTo(plain);
        assertThat(whitened.differencesFrom(whitened.withWhitening(new WhiteningRef(64, 5L, 1e-2, "a".repeat(64)))))
                .singleElement().satisfies(f -> assertThat(f.field()).isEqualTo("whitening"));
        assertThatThrownBy(() -> RunSpec.builder().setRunId("w").setSource("synthetic", 10, List.of(1, 2, 2))
                .setTeacher("teacher", "pool").setFeatures(8, Normalization.LAYER, DType.F16)
                .setStream(4, 1, 1, 5L).build()
                .withWhitening(new WhiteningRef(32, 5L, 1e-2, null))).hasMessageContaining("only with normalization whiten");
        assertThatThrownBy(() -> new WhiteningRef(32, 5L, 0, null)).hasMessageContaining("shrinkage");
    }

    /**
     * The whitening's wire: its hash (which the manifest names and every reader checks) is the one
     * 3d90b3f computed for the same arrays, before the store stored tensors instead of the VkD
     * class; its chunks are bytes fixed per content (their metadata came out in a per-JVM order).
     */
    @Test
    void aWhiteningHashesAsBeforeAndEncodesToTheSameBytesInEveryJvm() throws Exception {
        int d = 6;
        double[] mean = new double[d];
        double[] matrix = new double[d * d];
        for (int i = 0; i < d; i++) {
            mean[i] = i * 0.25 - 1;
        }
        for (int i = 0; i < matrix.length; i++) {
            matrix[i] = (i % 7) * 0.125 - 0.375;
        }
        String sha256 = new CalibratedWhitening(mean, matrix, 0.01).sha256();
        assertThat(sha256).isEqualTo("65f4a3ca27be701a977e753b8a34473355780b18a1aae8f032c62f2f2a2b26d7");
        List<byte[]> chunks = WhiteningStore.encode(sha256, new WhiteningStore.Tensors(mean, matrix, 0.01), 8 * d * 2);
        assertThat(chunks).hasSize(3);
        java.security.MessageDigest all = java.security.MessageDigest.getInstance("SHA-256");
        chunks.forEach(all::update);
        assertThat(java.util.HexFormat.of().formatHex(all.digest())).isEqualTo("01f5c96a9ec32926fe783d1ab7c13a76a6d98dcdf18e006a70dc57b34042e021");
        assertThat(io.kdstream.codec.SafeTensors.decode(chunks.get(1)).metadata()).containsExactly(
                Map.entry("sha256", sha256), Map.entry("chunk", "1"), Map.entry("chunks", "3"),
                Map.entry("row_start", "2"), Map.entry("dim", "6"));
    }
}
