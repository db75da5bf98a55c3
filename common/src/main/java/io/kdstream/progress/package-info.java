/**
 * The stdout progress protocol: one JSON object per line from {@code kdstream teacher} and
 * {@code kdstream student}, read by orchestrators ({@code kdstream demo}, {@code study}) and tests.
 * README, "The progress protocol", lists the events.
 */
package io.kdstream.progress;
