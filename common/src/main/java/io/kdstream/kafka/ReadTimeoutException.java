package io.kdstream.kafka;

/**
 * A topic was not read to its end (its last stable offset) within the deadline: Kafka answered too
 * slowly or not at all, which a caller may wait out, unlike a refusal. An
 * {@link IllegalStateException}, as this failure was before it had a type of its own; recognize it by
 * type, never by its message.
 */
public class ReadTimeoutException extends IllegalStateException {

    private final String topic;

    public ReadTimeoutException(String topic) {
        super("timed out reading " + topic);
        this.topic = topic;
    }

    /** The topic that was not read to its end. */
    public String topic() {
        return topic;
    }
}
