package io.kdstream.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The JSON card saved next to a model's weights ({@value #FILE_NAME}).
 *
 * @param format           {@code djl} (zoo block parameters) or {@code torchscript}
 * @param arch             zoo architecture name, or a free label for TorchScript models
 * @param file             weights file, relative to the card's directory
 * @param inputShape       [C, H, W]
 * @param featureDim       d of {@code features(x)} [B, d]
 * @param numClasses       width of {@code logits(x)}, 0 when the model has none
 * @param outputs          TorchScript output layout, e.g. {@code features,logits}; null for djl
 * @param dataset          dataset the model was trained on
 * @param testAccuracy     test-split top-1 accuracy, null when unknown
 * @param normMean         input normalization mean per channel (what the model expects)
 * @param normStd          input normalization std per channel
 * @param parametersSha256 SHA-256 (hex) of the weights file: the teacher id
 * @param training         free-form training facts (epochs, lr, seconds, ...)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelCard(String format, String arch, String file, List<Integer> inputShape, int featureDim,
                        int numClasses, String outputs, String dataset, Double testAccuracy,
                        List<Float> normMean, List<Float> normStd, String parametersSha256,
                        Map<String, Object> training) {
    public static final String FILE_NAME = "model.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public ModelCard {
        if (inputShape == null || inputShape.size() != 3) {
            throw new IllegalArgumentException("model card inputShape must be [C, H, W], got " + inputShape);
        }
        if (featureDim <= 0) {
            throw new IllegalArgumentException("model card featureDim must be positive, got " + featureDim);
        }
        inputShape = List.copyOf(inputShape);
        training = training == null ? Map.of() : Map.copyOf(training);
    }

    public ModelCard withParametersSha256(String sha) {
        return new ModelCard(format, arch, file, inputShape, featureDim, numClasses, outputs, dataset,
                testAccuracy, normMean, normStd, sha, training);
    }

    public ModelCard withTestAccuracy(Double acc) {
        return new ModelCard(format, arch, file, inputShape, featureDim, numClasses, outputs, dataset,
                acc, normMean, normStd, parametersSha256, training);
    }

    public ModelCard withTraining(Map<String, Object> facts) {
        return new ModelCard(format, arch, file, inputShape, featureDim, numClasses, outputs, dataset,
                testAccuracy, normMean, normStd, parametersSha256, facts);
    }

    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(FILE_NAME + ".tmp");
        JSON.writeValue(tmp.toFile(), this);
        Files.move(tmp, dir.resolve(FILE_NAME), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** Reads {@code dir/model.json}. */
    public static ModelCard read(Path dir) throws IOException {
        Path f = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(f)) {
            throw new IOException("no model card " + f.toAbsolutePath() + "; train a teacher with "
                    + "'kdstream train-teacher --out " + dir + "' or see docs/teachers.md for TorchScript teachers");
        }
        try {
            return JSON.readValue(f.toFile(), ModelCard.class);
        } catch (IOException e) {
            throw new IOException("invalid model card " + f + ": " + e.getMessage(), e);
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
