/** Durations as users type them: {@code 30s}, {@code 5m}, {@code 1h}, {@code 250ms}, ISO-8601. */
package io.kdstream.duration;
