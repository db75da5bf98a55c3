package io.kdstream.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

/** What a teacher logs while Kafka does not answer: a line at the start, one per 30 s, one at the end. */
class KafkaOutageTest {

    @Test
    void anOutageOfFiveMinutesWithAFailedCallPerSecondLogsTwelveLinesAndBacksOffToThirtySeconds() {
        Logger logger = (Logger) LoggerFactory.getLogger("kafka-outage-test");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        AtomicLong now = new AtomicLong(1_000_000_000L);
        KafkaOutage outage = new KafkaOutage(logger, "teacher t", now::get);
        try {
            List<Duration> backoffs = new java.util.ArrayList<>();
            for (int s = 0; s < 300; s++) {
                outage.failed("publishing work item 3/8", new TimeoutException("Timeout expired after 60000ms"));
                backoffs.add(outage.backoff());
                now.addAndGet(1_000_000_000L);
            }
            assertThat(outage.ongoing()).isTrue();
            outage.answered();
            List<String> lines = appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            // 1 at the start, 1 per 30 s for 299 s (9), 1 when Kafka answers
            assertThat(lines).hasSize(11);
            assertThat(lines.get(0)).isEqualTo("teacher t: Kafka not answering while publishing work item 3/8 "
                    + "(TimeoutException: Timeout expired after 60000ms); waiting for it, retrying with backoff");
            assertThat(lines.get(1)).startsWith("teacher t: Kafka unreachable for 30 s; still waiting (31 failed calls");
            assertThat(lines.get(10)).isEqualTo("teacher t: Kafka reachable again after 300 s");
            long[] ceilings = {1, 2, 4, 8, 16, 30, 30};
            for (int i = 0; i < ceilings.length; i++) {
                assertThat(backoffs.get(i)).as("backoff after %d failures", i + 1)
                        .isBetween(Duration.ofMillis(ceilings[i] * 500), Duration.ofSeconds(ceilings[i]));
            }
            assertThat(backoffs).allMatch(d -> d.compareTo(KafkaOutage.MAX_BACKOFF) <= 0);
            assertThat(outage.ongoing()).isFalse();
            assertThat(outage.backoff()).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
        } finally {
            logger.detachAppender(appender);
        }
    }

    @Test
    void teachersThatLostTheBrokerTogetherSpreadTheirRetriesOverHalfTheBackoff() {
        // 200 teachers, each with its own random source, after the same 6 failed calls (30 s ceiling)
        List<Long> waits = new java.util.ArrayList<>();
        for (int t = 0; t < 200; t++) {
            KafkaOutage outage = new KafkaOutage(LoggerFactory.getLogger("kafka-outage-test"), "teacher " + t,
                    () -> 0L, new java.util.SplittableRandom(t));
            for (int f = 0; f < 6; f++) {
                outage.failed("publishing", new TimeoutException("Timeout expired"));
            }
            waits.add(outage.backoff().toMillis());
        }
        assertThat(waits).allMatch(w -> w >= 15_000 && w <= 30_000);
        long[] perSecond = new long[16]; // how many teachers retry in each second of [15 s, 30 s]
        waits.forEach(w -> perSecond[(int) Math.min(15, (w - 15_000) / 1000)]++);
        // uniform: 200/15 ≈ 13 a second; lock-step would put all 200 in one second
        assertThat(java.util.Arrays.stream(perSecond).max().orElseThrow()).isLessThanOrEqualTo(30);
        assertThat(waits.stream().distinct().count()).isGreaterThan(190);
    }

    @Test
    void timeoutsAndStorageErrorsAreOutagesButARefusedAclIsNot() {
        assertThat(KafkaOutage.isOutage(new org.apache.kafka.common.KafkaException("commit failed",
                new KafkaStorageException("Disk error when trying to access log file on the disk.")))).isTrue();
        assertThat(KafkaOutage.isOutage(new java.util.concurrent.TimeoutException())).isTrue();
        assertThat(KafkaOutage.isOutage(new IllegalStateException("Cannot attempt operation `beginTransaction` "
                + "because the previous call to `abortTransaction` timed out and must be retried"))).isTrue();
        assertThat(KafkaOutage.isOutage(new TopicAuthorizationException("Not authorized"))).isFalse();
        assertThat(KafkaOutage.isOutage(new IllegalStateException("some other state"))).isFalse();
    }

    @Test
    void retryUntilSeesACallThroughAnOutageAndThrowsAnyOtherFailureAtOnce() {
        KafkaOutage outage = new KafkaOutage(LoggerFactory.getLogger("kafka-outage-test"), "teacher t",
                System::nanoTime);
        AtomicInteger calls = new AtomicInteger();
        boolean done = outage.retryUntil(System.nanoTime() + Duration.ofMinutes(1).toNanos(), "committing", () -> false,
                () -> {
                    if (calls.incrementAndGet() == 1) {
                        throw new TimeoutException("Timeout expired while awaiting EndTxn");
                    }
                });
        assertThat(done).isTrue();
        assertThat(calls).hasValue(2);
        assertThat(outage.ongoing()).as("the caller ends the outage, not the retry").isTrue();

        calls.set(0);
        assertThatThrownBy(() -> outage.retryUntil(System.nanoTime() + Duration.ofMinutes(1).toNanos(), "aborting",
                () -> false, () -> {
                    calls.incrementAndGet();
                    throw new TopicAuthorizationException("Not authorized");
                })).isInstanceOf(TopicAuthorizationException.class);
        assertThat(calls).as("a refusal is not retried").hasValue(1);
    }

    @Test
    void retryUntilGivesUpAtTheDeadlineAndWhenStopping() {
        AtomicLong now = new AtomicLong(0);
        KafkaOutage outage = new KafkaOutage(LoggerFactory.getLogger("kafka-outage-test"), "teacher t", now::get);
        Runnable timesOut = () -> {
            now.addAndGet(Duration.ofMinutes(11).toNanos());
            throw new TimeoutException("Timeout expired");
        };
        assertThatThrownBy(() -> outage.retryUntil(Duration.ofMinutes(10).toNanos(), "committing work item 2/4",
                () -> false, timesOut)).isInstanceOf(KafkaOutage.OutlastedException.class)
                .hasMessageContaining("committing work item 2/4 got no answer from Kafka");
        assertThat(outage.retryUntil(Long.MAX_VALUE, "aborting", () -> true, timesOut))
                .as("a stopping teacher leaves the outcome to the broker").isFalse();
    }
}
