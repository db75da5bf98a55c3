package io.kdstream.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.KafkaExtension;
import io.kdstream.kafka.TestKafka;
import io.kdstream.kafka.TestTopics;

/**
 * The teacher side of the chaos audit: what a read_committed reader of {@code <run>.features}
 * sees. Written with known faults (a batch never committed, one committed twice, one only in an
 * aborted transaction, all out of order), it must count each and be fooled by none.
 */
@ExtendWith(KafkaExtension.class)
class ExactlyOnceAuditIT {

    @Test
    void countsEveryLostAndDuplicatedBatchAndNoAbortedOne(TestKafka kafka) throws Exception {
        String run = "audit-" + UUID.randomUUID();
        KafkaClients clients = kafka.clients();
        TestTopics.create(clients, run + ".features", 2);
        List<String> keys = new ArrayList<>();
        for (int b = 0; b < ChaosRig.PER_EPOCH; b++) {
            keys.add("0/" + b);
        }
        keys.remove("0/17"); // lost: never committed
        keys.add("0/3"); // duplicated: committed twice
        Collections.shuffle(keys, new Random(5)); // and out of order, over two partitions
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(clients.transactionalProducer("audit-" + run))) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < keys.size(); i++) {
                p.send(new ProducerRecord<>(run + ".features", i % 2, keys.get(i), new byte[] {1})).get();
            }
            p.commitTransaction();
            p.beginTransaction(); // a redone work item whose first attempt aborted: invisible
            p.send(new ProducerRecord<>(run + ".features", 0, "0/17", new byte[] {1})).get();
            p.send(new ProducerRecord<>(run + ".features", 1, "0/5", new byte[] {1})).get();
            p.abortTransaction();
        }
        assertThat(new ExactlyOnceAudit(clients::bootstrapServers).delivered(run, 1))
                .isEqualTo(new ExactlyOnceAudit.Tally(1, 1));
    }
}
