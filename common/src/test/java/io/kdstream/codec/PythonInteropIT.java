package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.RunTopics;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TopicAdmin;
import io.kdstream.vkd.Normalization;
import io.kdstream.manifest.RunSpec;
import io.kdstream.lifecycle.WatchedProcess;
import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/** A Python consumer with only numpy, json and confluent-kafka decodes what kdstream writes. */
@ExtendWith(KafkaExtension.class)
class PythonInteropIT {


    @Test
    void pythonReadsABatchWithStockTools(TestKafka kafka) throws Exception {
        Prerequisites.assume(Need.PYTHON, PythonExamples.hasModules(), PythonExamples.PYTHON
                + " with numpy and confluent_kafka is not installed "
                + "(apt-get install python3-numpy python3-confluent-kafka)");
        Path script = PythonExamples.script("read_batch.py");
        for (DType dtype : List.of(DType.F32, DType.F16, DType.BF16, DType.I8)) {
            RunSpec spec = RunSpec.builder().setRunId("interop-" + dtype.name().toLowerCase())
                    .setSource("synthetic", 10, List.of(1, 2, 2)).setTeacher("teacher-xyz", "pool")
                    .setFeatures(6, Normalization.LAYER, dtype).optLogitClasses(3)
                    .setStream(4, 1, 1, 5L).build();
            FeatureBatch batch = TestBatches.batch(spec, 0, 0, 99);
            String topic = new RunTopics(spec.runId()).features();
            try (var admin = org.apache.kafka.clients.admin.Admin.create(kafka.clients().admin())) {
                TopicAdmin.ensureTopics(admin, List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) -1)),
                        java.time.Duration.ofSeconds(60));
            }
            try (KafkaProducer<String, FeatureBatch> p = new KafkaProducer<>(kafka.clients().producer("interop"),
                    new StringSerializer(), new FeatureBatchSerializer())) {
                p.send(new ProducerRecord<>(topic, batch.recordKey(), batch)).get();
            }

            JsonNode out = runPython(script, kafka.bootstrapServers(), topic);
            assertThat(out.get("key").asText()).isEqualTo("0/0");
            assertThat(out.get("headers").get(RecordHeaderNames.TEACHER).asText()).isEqualTo("teacher-xyz");
            assertThat(out.get("metadata").get("run_id").asText()).isEqualTo(spec.runId());
            JsonNode features = out.get("tensors").get("teacher_features");
            assertThat(features.get("dtype").asText()).isEqualTo(dtype.name());
            assertThat(features.get("shape").toString()).isEqualTo("[4,6]");
            float[] expected = batch.featureFloats();
            for (int i = 0; i < expected.length; i++) {
                if (dtype != DType.I8) {
                    assertThat((float) features.get("values").get(i).asDouble()).as("%s feature %d", dtype, i)
                            .isEqualTo(expected[i]);
                }
                // int8 is dequantized by the example exactly as the student does (q · scale in float32)
                assertThat((float) out.get("features").get(i).asDouble()).as("%s dequantized %d", dtype, i)
                        .isEqualTo(expected[i]);
            }
            if (dtype == DType.I8) {
                byte[] q = batch.teacherFeatures().toByteArray();
                for (int i = 0; i < q.length; i++) {
                    assertThat(features.get("values").get(i).asInt()).isEqualTo(q[i]);
                }
                assertThat(out.get("tensors").get("teacher_feature_scales").get("shape").toString()).isEqualTo("[4]");
            }
            JsonNode labels = out.get("tensors").get("labels").get("values");
            for (int i = 0; i < 4; i++) {
                assertThat(labels.get(i).asLong()).isEqualTo(batch.labels()[i]);
                assertThat(out.get("tensors").get("aug_seeds").get("values").get(i).asLong())
                        .isEqualTo(batch.augSeeds()[i]);
            }
            assertThat(out.get("tensors").get("inputs").get("shape").toString()).isEqualTo("[4,1,2,2]");
        }
    }

    private static JsonNode runPython(Path script, String bootstrap, String topic) throws Exception {
        try (WatchedProcess p = WatchedProcess.start(new ProcessBuilder(PythonExamples.PYTHON, script.toString(),
                "--bootstrap-servers", bootstrap, "--topic", topic, "--timeout", "60"))) {
            String stdout = p.assertSuccess(Duration.ofSeconds(120)).stdout();
            return new ObjectMapper().readTree(stdout.lines().findFirst().orElseThrow());
        }
    }

}
