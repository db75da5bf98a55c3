package io.kdstream.student;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;

import io.kdstream.codec.Tensor;

/**
 * A student scripted by PyTorch ({@code torch.jit.script}; see docs/pytorch.md), trained through
 * DJL's PyTorch engine. Its forward takes the normalized input [B, C, H, W] and returns features
 * [B, d_s] and logits [B, classes] in the declared order.
 *
 * <p>Where DJL's engine needs help (measured with DJL 0.36 / libtorch 2.7.1):
 * <ul>
 *   <li>Switching a module to training mode ({@code moduleTrain}) sets requires_grad on every
 *       parameter, frozen ones included, so this class switches modes itself and re-freezes the
 *       parameters the file marked frozen; only those it marked trainable are optimized.</li>
 *   <li>DJL lists a module's parameters but not its buffers (BatchNorm statistics), so a
 *       checkpoint holds the whole module as TorchScript bytes ({@value #MODULE_KEY}), and
 *       restoring replaces the module by the one those bytes hold.</li>
 *   <li>Dropout draws from libtorch's global generator; it is reseeded from (seed, step) before
 *       each training forward so that a resumed run draws the masks an uninterrupted one would.</li>
 * </ul>
 */
final class TorchScriptStudent implements StudentNetwork {

    /** File name of the exported student in the checkpoint directory. */
    static final String EXPORT_FILE = "student.pt";
    /** Checkpoint key of the serialized module (weights and buffers). */
    static final String MODULE_KEY = "module/student.pt";

    /**
     * Where a TorchScript student comes from: the file and the order of its two outputs.
     *
     * @param outputs {@code features,logits} or {@code logits,features}
     */
    record Source(Path file, String outputs) {

        Source {
            outputs = outputs.toLowerCase(Locale.ROOT).replace(" ", "");
            if (!outputs.equals("features,logits") && !outputs.equals("logits,features")) {
                throw new IllegalArgumentException("--student-outputs must be features,logits or logits,features, got '"
                        + outputs + "'");
            }
        }

        int featureIndex() {
            return outputs.startsWith("features") ? 0 : 1;
        }
    }

    private final Source source;
    private final PtNDManager manager;
    private final long seed;
    private final Set<String> trainable = new LinkedHashSet<>();
    private final Set<String> frozen = new LinkedHashSet<>();
    private final int featureDim;
    private PtSymbolBlock module;
    private Map<String, Parameter> params;
    private Map<String, NDArray> all;
    private Boolean training; // the module's mode as last set here; null = unknown

    /**
     * Loads {@code source} and runs it once on zeros of [2, C, H, W] to learn d_s and check the
     * outputs. Every failure is an {@link IllegalArgumentException} with one line naming the file.
     */
    TorchScriptStudent(Source source, NDManager manager, long seed, int channels, int height, int width,
                       int numClasses) {
        this.source = source;
        this.manager = (PtNDManager) manager;
        this.seed = seed;
        this.module = open(source.file(), this.manager);
        try {
            NDList params0 = JniUtils.moduleGetParams(module, this.manager);
            for (NDArray p : params0) {
                (JniUtils.requiresGrad((PtNDArray) p) ? trainable : frozen).add(p.getName());
            }
            bind();
            featureDim = probe(channels, height, width, numClasses);
        } catch (RuntimeException e) {
            module.close();
            throw e;
        }
    }

    /** Fails with one line unless {@code file} loads as a TorchScript module. */
    static void check(Path file) {
        try (PtNDManager m = (PtNDManager) NDManager.newBaseManager("PyTorch")) {
            open(file, m).close();
        }
    }

    /** Loads the file as TorchScript, or fails with one line. */
    static PtSymbolBlock open(Path file, PtNDManager manager) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--student " + file.toAbsolutePath() + " does not exist");
        }
        try {
            return JniUtils.loadModule(manager, file.toAbsolutePath(), true, new String[0], new String[0], true);
        } catch (RuntimeException e) { // EngineException from libtorch's loader
            throw new IllegalArgumentException("--student " + file + " is not a TorchScript module (save it with "
                    + "torch.jit.script(model).save(...)): " + firstLine(e.getMessage()));
        }
    }

    private int probe(int channels, int height, int width, int numClasses) {
        String expected = "two 2-D tensors in the order " + source.outputs() + " ([B, d_s] features, [B, "
                + numClasses + "] logits)";
        try (NDManager sub = manager.newSubManager()) {
            NDList out;
            try {
                out = run(sub.zeros(new Shape(2, channels, height, width)), false);
            } catch (RuntimeException e) { // EngineException: the module's own error
                throw new IllegalArgumentException("--student " + source.file() + " fails on an input [2, " + channels
                        + ", " + height + ", " + width + "]: " + firstLine(e.getMessage()));
            }
            if (out.size() != 2) {
                throw new IllegalArgumentException("--student " + source.file() + " returns " + out.size()
                        + " output(s); expected " + expected);
            }
            NDArray f = out.get(source.featureIndex());
            NDArray l = out.get(1 - source.featureIndex());
            if (f.getShape().dimension() != 2 || f.getShape().get(0) != 2 || l.getShape().dimension() != 2
                    || l.getShape().get(0) != 2 || l.getShape().get(1) != numClasses) {
                throw new IllegalArgumentException("--student " + source.file() + " returns " + f.getShape() + " as "
                        + "features and " + l.getShape() + " as logits for a batch of 2; expected " + expected);
            }
            return Math.toIntExact(f.getShape().get(1));
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    /** Looks the module's parameters up again (after loading a new module) and re-applies the frozen set. */
    private void bind() {
        all = new LinkedHashMap<>();
        params = new LinkedHashMap<>();
        for (NDArray p : JniUtils.moduleGetParams(module, manager)) {
            all.put(p.getName(), p);
            if (trainable.contains(p.getName())) {
                params.put("student/" + p.getName(), Parameter.builder().setName(p.getName())
                        .setType(Parameter.Type.OTHER).optArray(p).build());
            }
        }
        if (!all.keySet().equals(union())) {
            throw new IllegalStateException("checkpoint does not fit this student: its module has parameters "
                    + all.keySet() + ", " + source.file() + " has " + union());
        }
        training = null;
    }

    private Set<String> union() {
        Set<String> u = new LinkedHashSet<>(trainable);
        u.addAll(frozen);
        return u;
    }

    /** Sets the module's mode; entering training re-freezes what DJL's moduleTrain un-froze. */
    private void mode(boolean train) {
        if (training != null && training == train) {
            return;
        }
        if (train) {
            JniUtils.enableTrainingMode(module);
            for (String name : frozen) {
                JniUtils.attachGradient((PtNDArray) all.get(name), false);
            }
        } else {
            JniUtils.enableInferenceMode(module);
        }
        training = train;
    }

    private NDList run(NDArray x, boolean train) {
        mode(train);
        return IValueUtils.forward(module, new NDList(x), train);
    }

    @Override
    public int featureDim() {
        return featureDim;
    }

    @Override
    public NDList forward(ParameterStore ps, NDArray x, boolean train, long step) {
        if (train) {
            // Dropout masks a function of (seed, step), not of how many forwards this process ran
            Engine.getEngine("PyTorch").setRandomSeed((int) (seed * 1_000_003L + step));
        }
        NDList out = run(x, train);
        int fi = source.featureIndex();
        return new NDList(out.get(fi), out.get(1 - fi));
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return params;
    }

    @Override
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        // the parameters by name (readable, and what the resume tests compare); the module bytes
        // are what restores, since they alone hold the buffers
        all.forEach((name, a) -> out.put("param/student/" + name, StudentModel.toTensor(a)));
        byte[] bytes = moduleBytes();
        out.put(MODULE_KEY, Tensor.ofUnsignedBytes(new int[] {bytes.length}, bytes));
        return out;
    }

    private byte[] moduleBytes() {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        writeModule(bos);
        return bos.toByteArray();
    }

    /** Writes the module in evaluation mode with the file's frozen parameters frozen, as PyTorch would save it. */
    private void writeModule(OutputStream os) {
        Boolean was = training;
        mode(false);
        for (String name : frozen) {
            JniUtils.attachGradient((PtNDArray) all.get(name), false);
        }
        JniUtils.writeModule(module, os, false);
        if (was != null) {
            mode(was);
        }
    }

    @Override
    public void loadState(Map<String, Tensor> tensors, NDManager ignored) {
        Tensor t = tensors.get(MODULE_KEY);
        if (t == null) {
            throw new IllegalStateException("checkpoint does not fit this student: it holds no TorchScript module ("
                    + MODULE_KEY + "); was it written by a zoo student?");
        }
        long handle;
        try {
            handle = JniUtils.loadModuleHandle(new ByteArrayInputStream(t.toByteArray()), manager.getDevice(), true,
                    false);
        } catch (IOException e) {
            throw new IllegalStateException("checkpoint's TorchScript module does not load: " + e.getMessage(), e);
        }
        PtSymbolBlock previous = module;
        module = new PtSymbolBlock(manager, handle);
        try {
            bind();
        } catch (RuntimeException e) {
            module.close();
            module = previous;
            bind();
            throw e;
        }
        previous.close();
    }

    @Override
    public Path export(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(EXPORT_FILE);
        Path tmp = dir.resolve("." + EXPORT_FILE + ".tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            writeModule(os);
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true); // the rename must not publish a file whose bytes are still in the page cache
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    /** Names of the parameters the file marked frozen (requires_grad=False). */
    List<String> frozenParameters() {
        return List.copyOf(frozen);
    }

    @Override
    public void close() {
        module.close();
    }
}
