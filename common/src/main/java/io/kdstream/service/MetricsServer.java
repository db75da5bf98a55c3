package io.kdstream.service;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.ExpositionFormats;

/**
 * Serves a service's Prometheus registry on {@code /metrics}, in the format the scrape's
 * {@code Accept} header asks for (OpenMetrics for Prometheus 2.x and later, the Prometheus text
 * format for plain clients), and its health on {@code /healthz}
 * (the process works: 200, or 503 once {@link #markFailed} was called) and {@code /readyz} (the
 * service is doing its job, e.g. connected and past start-up checks).
 */
public final class MetricsServer implements AutoCloseable {

    /** The formats {@link PrometheusMeterRegistry#scrape(OutputStream, String)} chooses among, for the Content-Type. */
    private static final ExpositionFormats FORMATS = ExpositionFormats.init();
    private static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer http;
    private final PrometheusMeterRegistry registry;
    private final BooleanSupplier ready;
    private volatile String failure;

    private MetricsServer(HttpServer http, PrometheusMeterRegistry registry, BooleanSupplier ready) {
        this.http = http;
        this.registry = registry;
        this.ready = ready;
    }

    /**
     * A Prometheus registry with JVM and process metrics bound and a {@code service} tag (e.g.
     * {@code teacher}, {@code student}) plus the given key/value tags on every meter.
     */
    public static PrometheusMeterRegistry newRegistry(String service, String... tags) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // common tags are a meter filter: they must be set before the first meter registers
        registry.config().commonTags("service", service).commonTags(tags);
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        return registry;
    }

    /**
     * Starts serving on all interfaces.
     *
     * @param port  TCP port; 0 picks a free one ({@link #port()} tells which)
     * @param ready what {@code /readyz} reports
     */
    public static MetricsServer start(PrometheusMeterRegistry registry, int port, BooleanSupplier ready) {
        HttpServer http;
        try {
            http = HttpServer.create(new InetSocketAddress(port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on port " + port + ": " + e.getMessage(), e);
        }
        MetricsServer server = new MetricsServer(http, registry, ready);
        http.createContext("/metrics", ex -> {
            String accept = ex.getRequestHeaders().getFirst("Accept");
            if (accept == null || accept.isBlank()) {
                accept = TEXT_FORMAT;
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
            registry.scrape(body, accept);
            server.respond(ex, 200, FORMATS.findWriter(accept).getContentType(), body.toByteArray());
        });
        http.createContext("/healthz", ex -> {
            String f = server.failure;
            server.respond(ex, f == null ? 200 : 503, "text/plain; charset=utf-8", utf8(f == null ? "ok\n" : f + "\n"));
        });
        http.createContext("/readyz", ex -> {
            boolean ok = server.failure == null && ready.getAsBoolean();
            server.respond(ex, ok ? 200 : 503, "text/plain; charset=utf-8", utf8(ok ? "ready\n" : "not ready\n"));
        });
        http.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "kdstream-metrics-http");
            t.setDaemon(true);
            return t;
        }));
        http.start();
        return server;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Makes {@code /healthz} fail with the given reason (an orchestrator will restart the process). */
    public void markFailed(String reason) {
        this.failure = reason;
    }

    @Override
    public void close() {
        http.stop(0);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void respond(HttpExchange ex, int status, String type, byte[] bytes) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        if ("HEAD".equals(ex.getRequestMethod())) {
            ex.sendResponseHeaders(status, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
