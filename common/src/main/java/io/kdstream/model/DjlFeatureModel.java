package io.kdstream.model;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import ai.djl.MalformedModelException;
import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.kdstream.data.InputNormalization;

/**
 * A zoo {@link FeatureNet} in a DJL {@link Model}: created fresh for training, or loaded from a
 * directory holding {@value #PARAMS_FILE} and {@value ModelCard#FILE_NAME}. The student-trainer
 * trains {@link #model()} with a DJL Trainer; the teacher-producer only calls {@link #forward}.
 */
public final class DjlFeatureModel implements FeatureModel {
    public static final String PARAMS_FILE = "model.params";
    public static final String FORMAT = "djl";

    private final Model model;
    private final FeatureNet net;
    private volatile ModelCard card;

    private DjlFeatureModel(Model model, FeatureNet net, ModelCard card) {
        this.model = model;
        this.net = net;
        this.card = card;
    }

    /**
     * A freshly initialized network for [C, H, W] inputs; its card has no id until {@link #save}.
     */
    public static DjlFeatureModel create(Architecture arch, int channels, int height, int width, int numClasses,
                                         String dataset, InputNormalization norm) {
        return create(arch, channels, height, width, numClasses, dataset, norm, null);
    }

    /** As {@link #create(Architecture, int, int, int, int, String, InputNormalization)}, on {@code device}. */
    public static DjlFeatureModel create(Architecture arch, int channels, int height, int width, int numClasses,
                                         String dataset, InputNormalization norm, Device device) {
        FeatureNet net = arch.build(channels, numClasses);
        Model model = Model.newInstance(arch.id(), device, "PyTorch");
        try {
            model.setBlock(net);
            net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, channels, height, width));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        ModelCard card = new ModelCard(FORMAT, arch.id(), PARAMS_FILE, List.of(channels, height, width),
                arch.featureDim(), numClasses, null, dataset, null,
                toList(norm.mean()), toList(norm.std()), null, Map.of());
        return new DjlFeatureModel(model, net, card);
    }

    /** Loads a model saved by {@link #save}; refuses weights whose SHA-256 differs from the card's id. */
    public static DjlFeatureModel load(Path dir) throws IOException {
        return load(dir, null);
    }

    /** As {@link #load(Path)}, with the weights on {@code device} (null: the engine's default). */
    public static DjlFeatureModel load(Path dir, Device device) throws IOException {
        ModelCard card = ModelCard.read(dir);
        if (!FORMAT.equals(card.format())) {
            throw new IOException(dir + " holds a '" + card.format() + "' model, not a " + FORMAT + " zoo model");
        }
        Architecture arch = Architecture.parse(card.arch());
        Path params = dir.resolve(card.file());
        if (!Files.isRegularFile(params)) {
            throw new IOException("model card " + dir.resolve(ModelCard.FILE_NAME) + " names missing weights " + params);
        }
        byte[] bytes = Files.readAllBytes(params);
        String sha = sha256(bytes);
        if (card.parametersSha256() != null && !card.parametersSha256().equals(sha)) {
            throw new IOException("weights " + params + " have SHA-256 " + sha + " but the model card says "
                    + card.parametersSha256() + "; the file was changed or belongs to another model");
        }
        List<Integer> s = card.inputShape();
        FeatureNet net = arch.build(s.get(0), card.numClasses());
        Model model = Model.newInstance(arch.id(), device, "PyTorch");
        try {
            model.setBlock(net);
            net.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, s.get(0), s.get(1), s.get(2)));
            net.loadParameters(model.getNDManager(), new DataInputStream(new ByteArrayInputStream(bytes)));
        } catch (MalformedModelException | RuntimeException e) {
            model.close();
            throw new IOException("cannot load " + params + " as a " + arch.id() + " model: " + e.getMessage(), e);
        }
        return new DjlFeatureModel(model, net, card.withParametersSha256(sha));
    }

    /**
     * Writes the weights and the card (with the weights' SHA-256 as id) to {@code dir}, replacing
     * a previous save atomically file by file; returns the card written.
     */
    public ModelCard save(Path dir) throws IOException {
        Files.createDirectories(dir);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bos)) {
            net.saveParameters(out);
        }
        byte[] bytes = bos.toByteArray();
        Path tmp = dir.resolve(PARAMS_FILE + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, dir.resolve(PARAMS_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        ModelCard written = card.withParametersSha256(sha256(bytes));
        written.write(dir);
        card = written;
        return written;
    }

    /** Replaces the card's descriptive fields (accuracy, training facts) before the next save. */
    public void updateCard(java.util.function.UnaryOperator<ModelCard> change) {
        card = change.apply(card);
    }

    @Override
    public ModelCard card() {
        return card;
    }

    @Override
    public NDList forward(NDArray x) {
        return net.forward(new ParameterStore(x.getManager(), false), new NDList(x), false);
    }

    public FeatureNet net() {
        return net;
    }

    /** The DJL model owning the parameters, for {@code model.newTrainer(config)}. */
    public Model model() {
        return model;
    }

    @Override
    public void close() {
        model.close();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<Float> toList(float[] a) {
        Float[] boxed = new Float[a.length];
        for (int i = 0; i < a.length; i++) {
            boxed[i] = a[i];
        }
        return List.of(boxed);
    }
}
