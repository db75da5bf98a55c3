package io.kdstream.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Marker;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Rate-limits the Kafka client's reconnect warnings ("Connection to node -1 ... could not be
 * established", "Bootstrap broker ... disconnected"): while a broker is down every client of a
 * service logs them at each reconnect attempt, several lines a second for as long as the outage
 * lasts. One of each kind per {@link #INTERVAL_MS} gets through; the services say themselves that
 * they are waiting for Kafka and when it answers again. Installed in logback.xml.
 */
public final class KafkaReconnectWarnings extends TurboFilter {

    static final long INTERVAL_MS = 30_000;
    private static final String LOGGER = "org.apache.kafka.clients.NetworkClient";
    private static final List<String> NOISE = List.of("could not be established. Node may not be available.",
            "disconnected");

    private final Map<String, Long> lastPassed = new ConcurrentHashMap<>();

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params,
                              Throwable t) {
        if (level != Level.WARN || format == null || !LOGGER.equals(logger.getName())) {
            return FilterReply.NEUTRAL;
        }
        for (String kind : NOISE) {
            if (format.endsWith(kind)) {
                long now = System.currentTimeMillis();
                Long last = lastPassed.get(kind);
                if (last != null && now - last < INTERVAL_MS) {
                    return FilterReply.DENY;
                }
                lastPassed.put(kind, now);
                return FilterReply.NEUTRAL;
            }
        }
        return FilterReply.NEUTRAL;
    }
}
