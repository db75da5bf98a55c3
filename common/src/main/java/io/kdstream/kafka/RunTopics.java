package io.kdstream.kafka;

/** The four topics of a run (DESIGN.md §1). */
public record RunTopics(String runId) {

    public String features() {
        return runId + ".features";
    }

    /** Work items (epoch, batch range, seed) that teachers claim as one consumer group. */
    public String work() {
        return runId + ".work";
    }

    /** Compacted; holds the run's {@link io.kdstream.codec.RunSpec}. */
    public String manifest() {
        return runId + ".manifest";
    }

    /** Records a consumer could not decode or validate, with the reason in headers. */
    public String dlq() {
        return runId + ".dlq";
    }
}
