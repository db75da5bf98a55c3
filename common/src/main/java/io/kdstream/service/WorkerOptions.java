package io.kdstream.service;

import java.time.Duration;

import io.kdstream.duration.DurationConverter;
import io.kdstream.model.Devices;
import picocli.CommandLine.Option;

/**
 * Options both services take, word for word (a picocli mixin beside {@link ServiceOptions}): the
 * device the model and arrays live on, and how often the service prints a progress line.
 */
public final class WorkerOptions {

    @Option(names = "--device", defaultValue = "auto", converter = Devices.Names.class, description = Devices.HELP)
    public String device;

    @Option(names = "--progress-interval", defaultValue = "5s", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Time between JSON progress lines on stdout; 0 disables (" + DurationConverter.SYNTAX
                    + "; default: ${DEFAULT-VALUE}).")
    public Duration progressInterval;
}
