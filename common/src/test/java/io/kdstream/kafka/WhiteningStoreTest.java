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
}
