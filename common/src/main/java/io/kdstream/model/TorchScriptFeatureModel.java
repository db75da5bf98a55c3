package io.kdstream.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;
import io.kdstream.data.InputNormalization;

/**
 * A teacher exported from PyTorch with {@code torch.jit.trace} or {@code torch.jit.script},
 * run through DJL's PyTorch engine. Which outputs are features and logits is configuration
 * ({@link #parseOutputs}): {@code features} (the module returns one tensor) or
 * {@code features,logits} / {@code logits,features} (it returns a tuple). Features of rank 4
 * [B, C, H, W] are global-average-pooled to [B, C]. The teacher id is the SHA-256 of the
 * {@code .pt} file. See docs/teachers.md for the export recipe.
 */
public final class TorchScriptFeatureModel implements FeatureModel {
    public static final String FORMAT = "torchscript";

    private final ZooModel<NDList, NDList> model;
    private final ModelCard card;
    private final int featureIndex;
    private final int logitsIndex;
    private final int outputCount;

    private TorchScriptFeatureModel(ZooModel<NDList, NDList> model, ModelCard card) {
        this.model = model;
        this.card = card;
        int[] layout = parseOutputs(card.outputs());
        this.featureIndex = layout[0];
        this.logitsIndex = layout[1];
        this.outputCount = layout[2];
    }

    /**
     * {@code "features"} → (0, -1, 1); {@code "features,logits"} → (0, 1, 2);
     * {@code "logits,features"} → (1, 0, 2): feature index, logits index (-1 none), output count.
     */
    public static int[] parseOutputs(String outputs) {
        if (outputs == null) {
            throw new IllegalArgumentException("TorchScript outputs not configured; use features, features,logits or logits,features");
        }
        List<String> parts = List.of(outputs.toLowerCase(Locale.ROOT).replace(" ", "").split(","));
        int f = parts.indexOf("features");
        int l = parts.indexOf("logits");
        boolean valid = f >= 0 && parts.size() <= 2 && (parts.size() == 1 || l >= 0);
        if (!valid) {
            throw new IllegalArgumentException("bad TorchScript outputs '" + outputs
                    + "'; use features, features,logits or logits,features");
        }
        return new int[] {f, l, parts.size()};
    }

    /** Loads the teacher described by {@code dir/model.json} (format torchscript). */
    public static TorchScriptFeatureModel load(Path dir) throws IOException {
        return load(dir, null);
    }

    /** As {@link #load(Path)}, with the module mapped to {@code device} (null: the engine's default). */
    public static TorchScriptFeatureModel load(Path dir, Device device) throws IOException {
        ModelCard card = ModelCard.read(dir);
        if (!FORMAT.equals(card.format())) {
            throw new IOException(dir + " holds a '" + card.format() + "' model, not a TorchScript teacher");
        }
        Path pt = dir.resolve(card.file());
        String sha = sha256(pt);
        if (card.parametersSha256() != null && !card.parametersSha256().equals(sha)) {
            throw new IOException("TorchScript file " + pt + " has SHA-256 " + sha + " but the model card says "
                    + card.parametersSha256());
        }
        return new TorchScriptFeatureModel(open(pt, device), card.withParametersSha256(sha));
    }

    /**
     * Imports a {@code .pt} file: copies it into {@code outDir}, runs it once on zeros of
     * [1, C, H, W] to learn feature and class dimensions (and to fail now, not in the producer,
     * when the layout is wrong), and writes the model card. Returns the card.
     */
    public static ModelCard importFile(Path ptFile, String outputs, int channels, int height, int width,
                                       String dataset, InputNormalization norm, Path outDir) throws IOException {
        parseOutputs(outputs);
        if (!Files.isRegularFile(ptFile)) {
            throw new IOException("TorchScript file " + ptFile.toAbsolutePath() + " does not exist");
        }
        Files.createDirectories(outDir);
        String fileName = "teacher.pt";
        Path target = outDir.resolve(fileName);
        if (!Files.exists(target) || !Files.isSameFile(ptFile, target)) {
            Files.copy(ptFile, target, StandardCopyOption.REPLACE_EXISTING);
        }
        // the probe only learns the output shapes: the CPU serves, whatever device the service uses
        ModelCard card;
        try (TorchScriptFeatureModel probe = loadFile(target, outputs, channels, height, width, dataset, norm,
                Device.cpu())) {
            card = probe.card();
        }
        card.write(outDir);
        return card;
    }

    /** This model's card with the feature and class dimensions one forward on zeros shows. */
    private ModelCard probedCard(Device device) {
        List<Integer> in = card.inputShape();
        try (NDManager m = NDManager.newBaseManager(device, "PyTorch")) {
            NDList out = forward(m.zeros(new Shape(1, in.get(0), in.get(1), in.get(2))));
            int featureDim = (int) out.get(0).getShape().get(1);
            int classes = out.size() > 1 ? (int) out.get(1).getShape().get(1) : 0;
            return new ModelCard(FORMAT, "torchscript", card.file(), in, featureDim, classes, card.outputs(),
                    card.dataset(), null, card.normMean(), card.normStd(), card.parametersSha256(), Map.of());
        }
    }

    /**
     * Loads {@code ptFile} as a teacher on {@code device} without a model directory: one load, and
     * the shape probe of {@link #importFile} runs on that model (a service starts faster, and
     * nothing is written per start).
     */
    public static TorchScriptFeatureModel loadFile(Path ptFile, String outputs, int channels, int height,
                                                        int width, String dataset, InputNormalization norm,
                                                        Device device) throws IOException {
        parseOutputs(outputs);
        if (!Files.isRegularFile(ptFile)) {
            throw new IOException("TorchScript file " + ptFile.toAbsolutePath() + " does not exist");
        }
        ModelCard unprobed = new ModelCard(FORMAT, "torchscript", ptFile.getFileName().toString(),
                List.of(channels, height, width), 1, 0, outputs, dataset, null, boxed(norm.mean()),
                boxed(norm.std()), sha256(ptFile), Map.of());
        ZooModel<NDList, NDList> model = open(ptFile, device);
        try {
            return new TorchScriptFeatureModel(model,
                    new TorchScriptFeatureModel(model, unprobed).probedCard(device));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static ZooModel<NDList, NDList> open(Path pt, Device device) throws IOException {
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(pt)
                .optEngine("PyTorch")
                .optDevice(device)
                .optTranslator(new NoopTranslator())
                .optOption("mapLocation", "true")
                .build();
        try {
            return criteria.loadModel();
        } catch (ModelNotFoundException | MalformedModelException e) {
            throw new IOException("cannot load TorchScript teacher " + pt + ": " + e.getMessage(), e);
        }
    }

    @Override
    public ModelCard card() {
        return card;
    }

    @Override
    public NDList forward(NDArray x) {
        NDList out = model.getBlock().forward(new ParameterStore(x.getManager(), false), new NDList(x), false);
        if (out.size() != outputCount) {
            throw new IllegalStateException("TorchScript teacher returned " + out.size() + " outputs but outputs='"
                    + card.outputs() + "' expects " + outputCount);
        }
        NDArray features = pool(out.get(featureIndex));
        if (logitsIndex < 0) {
            return new NDList(features);
        }
        return new NDList(features, out.get(logitsIndex));
    }

    private static NDArray pool(NDArray f) {
        return switch (f.getShape().dimension()) {
            case 2 -> f;
            case 4 -> f.reshape(f.getShape().get(0), f.getShape().get(1), -1).mean(new int[] {2});
            default -> throw new IllegalStateException("TorchScript features must be [B, d] or [B, C, H, W], got "
                    + f.getShape());
        };
    }

    @Override
    public void close() {
        model.close();
    }

    private static String sha256(Path file) throws IOException {
        return DjlFeatureModel.sha256(Files.readAllBytes(file));
    }

    private static List<Float> boxed(float[] a) {
        Float[] b = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
        return List.of(b);
    }
}
