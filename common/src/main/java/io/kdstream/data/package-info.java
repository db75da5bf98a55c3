/**
 * Datasets and what teachers and students feed their networks: IDX and image-folder readers
 * ({@link io.kdstream.data.Datasets}), stratified seeded subsets, seeded augmentation
 * ({@link io.kdstream.data.AugmentPolicy}) and deterministic batches
 * ({@link io.kdstream.data.BatchSource}) that reference mode can replay from sample ids and seeds.
 */
package io.kdstream.data;
