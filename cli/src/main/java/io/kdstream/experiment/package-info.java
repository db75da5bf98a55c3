/**
 * One student of a local comparison, shared by {@code kdstream demo} and {@code kdstream study}:
 * its experiment (variant, seed, objective), what its process reported, its summary for reports
 * and stores, and the pieces both reports draw (curves, setup facts).
 */
package io.kdstream.experiment;
