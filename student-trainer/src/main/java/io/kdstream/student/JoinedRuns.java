package io.kdstream.student;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

import io.kdstream.codec.InputMode;
import io.kdstream.manifest.RunSpec;

/**
 * The runs one student joins (issue 39), in {@code --run} order, checked to cut the same batches from
 * the same samples: what every manifest must agree on is {@link #SAME_SAMPLES}; the teachers, their
 * feature widths, normalizations, dtypes, logits and how inputs travel (inline or by reference) may
 * differ.
 */
record JoinedRuns(List<RunSpec> specs) {

    /** A manifest field that decides which samples a batch holds, as the manifest JSON names it. */
    private record Field(String name, Function<RunSpec, Object> value) {
    }

    /**
     * The fields joined runs must agree on: the dataset and subset (its id names the split), the
     * labels and one sample's shape and input normalization, and the batch plan (sample order and
     * augmentation follow from the seed and the policy).
     */
    private static final List<Field> SAME_SAMPLES = List.of(
            new Field("schema_version", RunSpec::schemaVersion),
            new Field("dataset_id", RunSpec::datasetId),
            new Field("num_classes", RunSpec::numClasses),
            new Field("input_shape", RunSpec::inputShape),
            new Field("input_mean", RunSpec::inputMean),
            new Field("input_std", RunSpec::inputStd),
            new Field("augmentation", RunSpec::augmentation),
            new Field("batch_size", RunSpec::batchSize),
            new Field("batches_per_epoch", RunSpec::batchesPerEpoch),
            new Field("epochs", RunSpec::epochs),
            new Field("seed", RunSpec::seed));

    JoinedRuns {
        specs = List.copyOf(specs);
        if (specs.isEmpty()) {
            throw new IllegalArgumentException("a student needs at least one run");
        }
    }

    /**
     * The runs, or one line naming the first field on which a run's manifest differs from the first
     * run's, with both values.
     *
     * @throws IllegalStateException when they cannot be joined
     */
    static JoinedRuns of(List<RunSpec> specs) {
        Set<String> seen = new HashSet<>();
        for (RunSpec s : specs) {
            if (!seen.add(s.runId())) {
                throw new IllegalStateException("run " + s.runId() + " is named twice: give each --run once");
            }
        }
        RunSpec first = specs.get(0);
        for (RunSpec other : specs.subList(1, specs.size())) {
            for (Field f : SAME_SAMPLES) {
                Object a = f.value().apply(first);
                Object b = f.value().apply(other);
                if (!Objects.equals(a, b)) {
                    throw new IllegalStateException("runs " + first.runId() + " and " + other.runId()
                            + " cannot be joined: " + f.name() + ": " + first.runId() + " has " + a + ", "
                            + other.runId() + " has " + b + " (joined runs must cut the same batches from the same "
                            + "samples)");
                }
            }
        }
        return new JoinedRuns(specs);
    }

    /** The first run: the batch plan and dataset every run shares. */
    RunSpec first() {
        return specs.get(0);
    }

    boolean joined() {
        return specs.size() > 1;
    }

    List<String> ids() {
        return specs.stream().map(RunSpec::runId).toList();
    }

    /**
     * The run whose records carry the inputs (the first inline one), or -1 when every run sends them
     * by reference and the student rebuilds them from the dataset.
     */
    int inlineRun() {
        for (int i = 0; i < specs.size(); i++) {
            if (specs.get(i).inputMode() == InputMode.INLINE) {
                return i;
            }
        }
        return -1;
    }

    /** Whether the student rebuilds the inputs from the dataset: no run carries them inline. */
    boolean rebuildsInputs() {
        return inlineRun() < 0;
    }

    /** The run whose records give a step its inputs and labels: the first inline one, else the first. */
    int inputsRun() {
        return Math.max(inlineRun(), 0);
    }
}
