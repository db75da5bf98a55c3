package io.kdstream.model;

import java.io.IOException;
import java.nio.file.Path;

/** Opens any saved model directory by its card's format: a zoo model or a TorchScript teacher. */
public final class FeatureModels {
    private FeatureModels() {
    }

    public static FeatureModel load(Path dir) throws IOException {
        ModelCard card = ModelCard.read(dir);
        return switch (card.format() == null ? "" : card.format()) {
            case DjlFeatureModel.FORMAT -> DjlFeatureModel.load(dir);
            case TorchScriptFeatureModel.FORMAT -> TorchScriptFeatureModel.load(dir);
            default -> throw new IOException("model card " + dir.resolve(ModelCard.FILE_NAME) + " has format '"
                    + card.format() + "'; expected " + DjlFeatureModel.FORMAT + " or " + TorchScriptFeatureModel.FORMAT);
        };
    }
}
