/**
 * Networks as feature extractors ({@link io.kdstream.model.FeatureModel}): the DJL model zoo
 * ({@link io.kdstream.model.Architecture}), TorchScript teachers, model cards with the teacher id,
 * and teacher training.
 */
package io.kdstream.model;
