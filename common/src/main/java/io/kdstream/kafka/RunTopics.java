package io.kdstream.kafka;

import java.util.List;
import java.util.Optional;

/** The four topics of a run (DESIGN.md §1). */
public record RunTopics(String runId) {

    private static final String MANIFEST_SUFFIX = ".manifest";

    /** The run whose manifest topic this is, if {@code topic} is one; a run exists once its manifest topic does. */
    public static Optional<RunTopics> ofManifest(String topic) {
        return topic.endsWith(MANIFEST_SUFFIX) && topic.length() > MANIFEST_SUFFIX.length()
                ? Optional.of(new RunTopics(topic.substring(0, topic.length() - MANIFEST_SUFFIX.length())))
                : Optional.empty();
    }

    /** All four, in the order of this class. */
    public List<String> all() {
        return List.of(features(), work(), manifest(), dlq());
    }

    /** {@link #all()} and the topics only some runs have ({@link #whitening()}): what deleting a run removes. */
    public List<String> allIncludingOptional() {
        return List.of(features(), work(), manifest(), dlq(), whitening());
    }

    public String features() {
        return runId + ".features";
    }

    /** Work items (epoch, batch range, seed) that teachers claim as one consumer group. */
    public String work() {
        return runId + ".work";
    }

    /** Compacted; holds the run's {@link io.kdstream.manifest.RunSpec}. */
    public String manifest() {
        return runId + MANIFEST_SUFFIX;
    }

    /**
     * Compacted; the calibrated whitening of a {@code whiten} run (mean and matrix, in chunks keyed
     * by its SHA-256), created only by such runs, so it is not in {@link #all()}.
     */
    public String whitening() {
        return runId + ".whitening";
    }

    /** The consumer group of the run's teachers on {@link #work()} (its lag is the work left). */
    public String teacherGroup() {
        return "kdstream-" + runId + "-teachers";
    }

    /** Records a consumer could not decode or validate, with the reason in headers. */
    public String dlq() {
        return runId + ".dlq";
    }
}
