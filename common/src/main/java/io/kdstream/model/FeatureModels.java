package io.kdstream.model;

import java.io.IOException;
import java.nio.file.Path;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** Opens any saved model directory by its card's format: a zoo model or a TorchScript teacher. */
public final class FeatureModels {
    private FeatureModels() {
    }

    /** Opens the model on the engine's default device. */
    public static FeatureModel load(Path dir) throws IOException {
        return load(dir, Engine.getEngine("PyTorch").defaultDevice());
    }

    /** Opens the model with its weights, and the arrays its forward makes, on {@code device}. */
    public static FeatureModel load(Path dir, Device device) throws IOException {
        ModelCard card = ModelCard.read(dir);
        return switch (card.format() == null ? "" : card.format()) {
            case DjlFeatureModel.FORMAT -> DjlFeatureModel.load(dir, device);
            case TorchScriptFeatureModel.FORMAT -> TorchScriptFeatureModel.load(dir, device);
            default -> throw new IOException("model card " + dir.resolve(ModelCard.FILE_NAME) + " has format '"
                    + card.format() + "'; expected " + DjlFeatureModel.FORMAT + " or " + TorchScriptFeatureModel.FORMAT);
        };
    }
}
