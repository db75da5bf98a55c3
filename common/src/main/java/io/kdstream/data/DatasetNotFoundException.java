package io.kdstream.data;

/** A dataset that is not installed where kdstream looked; the message says where and how to fix it. */
public final class DatasetNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DatasetNotFoundException(String message) {
        super(message);
    }
}
