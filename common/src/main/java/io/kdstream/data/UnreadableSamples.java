package io.kdstream.data;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples whose image cannot be read (a corrupt or truncated file, a member cut off by a truncated
 * shard, a format no ImageIO reader takes). The rule, the same on teacher and student and in every
 * epoch: such a sample is left out of the batch it falls in, which is one sample shorter; no other
 * sample moves. Each is reported once per process in one line naming the file and the reason, and
 * counted in {@code kdstream.data.unreadable.samples} (alert: KdstreamUnreadableImages).
 */
public final class UnreadableSamples implements MeterBinder {
    private static final Logger LOG = LoggerFactory.getLogger(UnreadableSamples.class);

    private final Map<Long, String> seen = new ConcurrentHashMap<>();

    /** Records that sample {@code id} could not be read; logs it the first time. */
    void report(long id, String why) {
        if (seen.putIfAbsent(id, why) == null) {
            LOG.warn("{} (sample id {}): left out of its batch in every epoch", why, id);
        }
    }

    /** Distinct unreadable samples met so far. */
    public int count() {
        return seen.size();
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("kdstream.data.unreadable.samples", this, UnreadableSamples::count)
                .description("Samples whose image could not be read, left out of their batches").register(registry);
    }
}
