package io.kdstream.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.kdstream.broker.EmbeddedKafkaBroker;

/** The embedded broker (a module that cannot see codec) accepts exactly the records the clients may send. */
class RecordLimitsTest {

    @Test
    void theEmbeddedBrokerUsesTheClientsRecordLimits() {
        assertThat(EmbeddedKafkaBroker.DEFAULT_MAX_RECORD_BYTES).isEqualTo(RecordLimits.DEFAULT_MAX_RECORD_BYTES);
        assertThat(EmbeddedKafkaBroker.BATCH_OVERHEAD_BYTES).isEqualTo(RecordLimits.BATCH_OVERHEAD_BYTES);
    }
}
