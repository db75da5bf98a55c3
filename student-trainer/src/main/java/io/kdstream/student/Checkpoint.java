package io.kdstream.student;

import java.util.Map;

import io.kdstream.codec.Tensor;

/**
 * Everything a student needs to continue exactly where it stopped (DESIGN.md §6): parameters
 * (student and projection), optimizer state, the step (the schedule is a function of it), and
 * stream position, as next offset per partition plus the set of batches already trained: a
 * {@link TrainingState} with the model's tensors ({@link TrainingState#toCheckpoint}).
 *
 * @param tensors   named arrays: {@code param/...} and {@code opt/...}
 * @param step      optimizer steps taken
 * @param offsets   next offset to read, per partition of {@code <run>.features}
 * @param trained   {@link TrainedBatches#encode() encoded} set of batches trained so far
 * @param attributes other facts (pass, best accuracy, optimizer updates, the experiment's identity);
 *                   {@link TrainingState} writes and reads them, and alone knows their keys
 */
public record Checkpoint(Map<String, Tensor> tensors, long step, Map<Integer, Long> offsets, String trained,
                         Map<String, String> attributes) {

    public Checkpoint {
        tensors = Map.copyOf(tensors);
        offsets = Map.copyOf(offsets);
        attributes = Map.copyOf(attributes);
    }
}
