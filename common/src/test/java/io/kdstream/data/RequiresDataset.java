package io.kdstream.data;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test (class or method) that reads a real dataset. Where the dataset is not installed the test is
 * skipped with one line saying so and how to install it ({@code bin/setup test}), instead of failing
 * with a {@link DatasetNotFoundException} stack trace; where it is installed it runs as usual.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(DatasetCondition.class)
public @interface RequiresDataset {
    /** Dataset name as {@link Datasets#locate} takes it. */
    String value() default "fashion-mnist";
}
