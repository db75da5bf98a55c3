package io.kdstream.student;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

import io.kdstream.codec.Tensor;

/**
 * The network a {@link StudentModel} trains: a zoo {@code FeatureNet} ({@link ZooStudent}) or a
 * module scripted by PyTorch ({@link TorchScriptStudent}). The projection, losses and optimizer
 * around it are the same for both; only this seam knows how the network runs, which of its
 * arrays are trained and how its state is saved.
 */
interface StudentNetwork extends AutoCloseable {

    /** d_s, the width of the features the projection maps into the teacher's space. */
    int featureDim();

    /**
     * One forward on normalized inputs [B, C, H, W]: {@code NDList(features [B, d_s], logits [B, classes])}.
     * In training mode BatchNorm updates its statistics and Dropout is on; {@code step} (the
     * optimizer's update count) seeds whatever randomness the network has, so a resumed run draws
     * what an uninterrupted one would.
     */
    NDList forward(ParameterStore ps, NDArray x, boolean training, long step);

    /**
     * The arrays the optimizer updates, by names that are stable across processes. A network may
     * hand out new objects after {@link #loadState}, so callers look them up again then.
     */
    Map<String, Parameter> trainableParameters();

    /** Everything that restores this network exactly (weights, and buffers where it has them), by name. */
    Map<String, Tensor> state();

    /**
     * Restores what {@link #state} wrote.
     *
     * @throws IllegalStateException naming what does not fit when the tensors are another network's
     */
    void loadState(Map<String, Tensor> tensors, NDManager manager);

    /**
     * Writes the trained network in its user's format to {@code dir} (atomically) and returns the
     * file, or returns null when the network has no such format (zoo students: best.safetensors is it).
     */
    default Path export(Path dir) throws IOException {
        return null;
    }

    @Override
    void close();
}
