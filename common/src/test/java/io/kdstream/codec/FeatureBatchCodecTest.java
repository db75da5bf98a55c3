package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import io.kdstream.codec.InvalidBatchException.Reason;
import io.kdstream.vkd.Normalization;
import io.kdstream.data.AugmentPolicy;
import io.kdstream.manifest.RunSpec;
import io.kdstream.manifest.ManifestMismatchException;
import io.kdstream.manifest.FeatureBatchValidator;

class FeatureBatchCodecTest {

    private final RunSpec spec = TestBatches.spec("run-a", 16, 10, InputMode.INLINE);

    @Test
    void roundTripsThroughKafkaSerdeWithKeyAndHeaders() {
        FeatureBatch batch = TestBatches.batch(spec, 1, 3, 42);
        RecordHeaders headers = new RecordHeaders();
        byte[] value;
        try (FeatureBatchSerializer ser = new FeatureBatchSerializer()) {
            value = ser.serialize("run-a.features", headers, batch);
        }
        FeatureBatch back;
        try (FeatureBatchDeserializer de = new FeatureBatchDeserializer()) {
            back = de.deserialize("run-a.features", value);
        }
        assertThat(back).isEqualTo(batch);
        assertThat(back.recordKey()).isEqualTo("1/3");
        assertThat(header(headers, RecordHeaderNames.EPOCH)).isEqualTo("1");
        assertThat(header(headers, RecordHeaderNames.BATCH)).isEqualTo("3");
        assertThat(header(headers, RecordHeaderNames.RUN)).isEqualTo("run-a");
        assertThat(header(headers, RecordHeaderNames.TEACHER)).isEqualTo(spec.teacherId());
        assertThat(new FeatureBatchValidator(spec).validate(back)).isSameAs(back);
    }

    @Test
    void encodesTheTensorsAndMetadataDesignMdNames() {
        SafeTensors.Contents c = SafeTensors.decode(TestBatches.batch(spec, 0, 0, 1).encode());
        assertThat(c.tensors().keySet()).containsExactly("teacher_features", "teacher_logits", "labels",
                "sample_ids", "aug_seeds", "inputs");
        assertThat(c.tensors().get("teacher_features").dtype()).isEqualTo(DType.F16);
        assertThat(c.tensors().get("teacher_features").shape()).containsExactly(8, 16);
        assertThat(c.tensors().get("labels").dtype()).isEqualTo(DType.I64);
        assertThat(c.tensors().get("inputs").shape()).containsExactly(8, 1, 28, 28);
        assertThat(c.metadata()).containsKeys("schema_version", "run_id", "epoch", "batch_index", "teacher_id",
                "normalization", "producer_id");
    }

    @Test
    void rejectsStructurallyInvalidBatches() {
        FeatureBatch ok = TestBatches.batch(spec, 0, 0, 1);
        Map<String, Tensor> t = new LinkedHashMap<>(SafeTensors.decode(ok.encode()).tensors());
        Map<String, String> meta = SafeTensors.decode(ok.encode()).metadata();

        Map<String, Tensor> missing = new LinkedHashMap<>(t);
        missing.remove("labels");
        assertDecodeReason(SafeTensors.encode(missing, meta), Reason.MISSING_TENSOR);

        Map<String, Tensor> shortLabels = new LinkedHashMap<>(t);
        shortLabels.put("labels", Tensor.ofLongs(new int[] {3}, new long[] {1, 2, 3}));
        assertDecodeReason(SafeTensors.encode(shortLabels, meta), Reason.BATCH_SIZE_MISMATCH);

        Map<String, Tensor> intFeatures = new LinkedHashMap<>(t);
        intFeatures.put("teacher_features", Tensor.ofLongs(new int[] {8, 1}, new long[8]));
        assertDecodeReason(SafeTensors.encode(intFeatures, meta), Reason.UNKNOWN_DTYPE);

        Map<String, Tensor> flat = new LinkedHashMap<>(t);
        flat.put("teacher_features", Tensor.ofFloats(DType.F32, new int[] {128}, new float[128]));
        assertDecodeReason(SafeTensors.encode(flat, meta), Reason.SHAPE_MISMATCH);

        Map<String, String> noTeacher = new LinkedHashMap<>(meta);
        noTeacher.remove("teacher_id");
        assertDecodeReason(SafeTensors.encode(t, noTeacher), Reason.MISSING_TENSOR);

        Map<String, String> badEpoch = new LinkedHashMap<>(meta);
        badEpoch.put("epoch", "two");
        assertDecodeReason(SafeTensors.encode(t, badEpoch), Reason.BAD_METADATA);

        Map<String, String> future = new LinkedHashMap<>(meta);
        future.put("schema_version", "99");
        assertDecodeReason(SafeTensors.encode(t, future), Reason.BAD_METADATA);
    }

    @Test
    void validatorRejectsBatchesThatDoNotMatchTheManifest() {
        FeatureBatchValidator v = new FeatureBatchValidator(spec);
        assertValidateReason(v, TestBatches.batch(TestBatches.spec("run-a", 32, 10, InputMode.INLINE), 0, 0, 1),
                Reason.MANIFEST_MISMATCH, "feature_dim");
        RunSpec otherTeacher = RunSpec.builder().setRunId("run-a")
                .setSource(spec.datasetId(), 10, spec.inputShape()).setTeacher("another-teacher", "pool")
                .setFeatures(16, Normalization.LAYER, DType.F16).optLogitClasses(10)
                .optAugmentation(AugmentPolicy.parse("crop+flip"))
                .setStream(8, 4, 2, 7L).build();
        assertValidateReason(v, TestBatches.batch(otherTeacher, 0, 0, 1), Reason.MANIFEST_MISMATCH, "teacher_id");
        assertValidateReason(v, TestBatches.batch(TestBatches.spec("run-a", 16, 0, InputMode.INLINE), 0, 0, 1),
                Reason.MANIFEST_MISMATCH, "logit_classes");
        assertValidateReason(v, TestBatches.batch(spec, 2, 0, 1), Reason.MANIFEST_MISMATCH, "epoch");

        FeatureBatch ok = TestBatches.batch(spec, 0, 0, 1);
        float[] f = ok.teacherFeatures().toFloats();
        f[5] = Float.NaN;
        FeatureBatch nan = new FeatureBatch(ok.metadata(), Tensor.ofFloats(DType.F16, new int[] {8, 16}, f),
                ok.teacherLogits(), ok.labels(), ok.sampleIds(), ok.augSeeds(), ok.inputs());
        assertValidateReason(v, FeatureBatch.decode(nan.encode()), Reason.NON_FINITE, "teacher_features");
    }

    @Test
    void serializerRefusesAnOversizeBatchWithAClearError() {
        FeatureBatch batch = TestBatches.batch(spec, 0, 0, 1);
        try (FeatureBatchSerializer ser = new FeatureBatchSerializer()) {
            ser.configure(Map.of(FeatureBatchSerializer.MAX_RECORD_BYTES_CONFIG, "4096"), false);
            assertThatThrownBy(() -> ser.serialize("t", batch))
                    .isInstanceOf(RecordTooLargeException.class)
                    .hasMessageContaining("0/0")
                    .hasMessageContaining("4096-byte record limit");
        }
    }

    @Test
    void runSpecRoundTripsAndNamesEveryDifferingField() {
        RunSpec back = RunSpec.fromJson(spec.toJson());
        assertThat(back).isEqualTo(spec);
        assertThat(back.digest()).isEqualTo(spec.digest());
        assertThat(new String(spec.toJson(), StandardCharsets.UTF_8)).contains("\"feature_dim\":16",
                "\"input_mode\":\"INLINE\"");

        RunSpec other = RunSpec.builder().setRunId("run-a")
                .setSource(spec.datasetId(), 10, spec.inputShape()).setTeacher("another-teacher", "pool")
                .setFeatures(32, Normalization.WHITEN, DType.F16).optLogitClasses(10)
                .optAugmentation(AugmentPolicy.parse("crop+flip"))
                .setStream(8, 4, 2, 7L).build();
        assertThat(spec.differencesFrom(other)).extracting(RunSpec.FieldDifference::field)
                .containsExactly("teacher_id", "feature_dim", "normalization");
        assertThatThrownBy(() -> spec.requireMatches(other))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("teacher_id: manifest has teacher-sha256-abc, configured another-teacher")
                .hasMessageContaining("feature_dim")
                .hasMessageContaining("normalization");
        spec.requireMatches(back);
    }

    @Test
    void runSpecRejectsInvalidFieldsByName() {
        assertThatThrownBy(() -> RunSpec.fromJson("{\"run_id\":\"x\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("invalid run manifest");
        assertThatThrownBy(() -> RunSpec.builder().setRunId("bad run!")
                .setSource("d", 10, spec.inputShape()).setTeacher("t", "pool")
                .setFeatures(4, Normalization.LAYER, DType.F32)
                .setStream(8, 1, 1, 1L).build()).hasMessageContaining("run_id");
        byte[] zscore = new String(spec.toJson(), StandardCharsets.UTF_8)
                .replace("\"normalization\":\"layer\"", "\"normalization\":\"zscore\"").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> RunSpec.fromJson(zscore)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("normalization 'zscore'");
    }

    @Test
    void referenceModeBatchesMayNotCarryInputsNorNameUnknownSamples() {
        RunSpec ref = TestBatches.spec("run-a", 16, 10, InputMode.REFERENCE);
        FeatureBatch withInputs = TestBatches.batch(spec, 0, 0, 1); // inline batch: carries inputs
        FeatureBatch plain = TestBatches.batch(ref, 0, 0, 1);
        FeatureBatchValidator v = new FeatureBatchValidator(ref);
        assertValidateReason(v, withInputs, Reason.MANIFEST_MISMATCH, "inputs");
        assertThat(v.validate(plain)).isSameAs(plain);
        long unknown = plain.sampleIds()[2];
        assertValidateReason(v.withSampleIds(id -> id != unknown), plain, Reason.MANIFEST_MISMATCH, "sample_ids");
    }

    private static String header(RecordHeaders h, String name) {
        return new String(h.lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    private static void assertDecodeReason(byte[] value, Reason reason) {
        assertThatThrownBy(() -> FeatureBatch.decode(value))
                .isInstanceOfSatisfying(InvalidBatchException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    private static void assertValidateReason(FeatureBatchValidator v, FeatureBatch b, Reason reason, String field) {
        assertThatThrownBy(() -> v.validate(b))
                .isInstanceOfSatisfying(InvalidBatchException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageContaining(field);
    }
}
