package io.kdstream.kafka;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.common.KafkaFuture;

/** Waits for an admin call with a bound, turning its failure into one exception that names it. */
public final class AdminCalls {

    private AdminCalls() {
    }

    /**
     * @param what what was asked, for the message ("describe the brokers' log dirs")
     * @throws IllegalStateException with the Kafka exception as its cause (so
     *         {@link KafkaAccessErrors#describe} still finds a denied ACL)
     */
    public static <T> T get(KafkaFuture<T> future, Duration timeout, String what) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot " + what + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("timed out after " + timeout + " trying to " + what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted trying to " + what, e);
        }
    }
}
