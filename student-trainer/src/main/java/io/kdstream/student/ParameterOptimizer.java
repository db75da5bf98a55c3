package io.kdstream.student;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;

/**
 * An optimizer whose state is plain named arrays, so a checkpoint holds it and a resumed run
 * continues bit-for-bit (DJL's built-in optimizers keep their state private). Updates happen in
 * place, outside any GradientCollector; temporaries live in an {@link NDScope}.
 */
public abstract class ParameterOptimizer {

    /** Kinds selectable with {@code --optimizer}. */
    public enum Kind {
        ADAMW, SGD;

        public static Kind parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    protected final NDManager manager;
    protected final double weightDecay;
    protected final Map<String, NDArray> state = new LinkedHashMap<>();
    protected long updates;

    protected ParameterOptimizer(NDManager manager, double weightDecay) {
        this.manager = manager;
        this.weightDecay = weightDecay;
    }

    public static ParameterOptimizer create(Kind kind, NDManager manager, double weightDecay) {
        return switch (kind) {
            case ADAMW -> new AdamW(manager, 0.9, 0.999, 1e-8, weightDecay);
            case SGD -> new Sgd(manager, 0.9, weightDecay);
        };
    }

    /**
     * Applies one update to every parameter that has a gradient, then zeroes the gradients. State
     * is keyed by the parameters' names, which are stable across processes (ids are not).
     */
    public final void step(Map<String, Parameter> params, double lr) {
        updates++;
        try (NDScope ignored = new NDScope()) {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray w = e.getValue().getArray();
                if (!e.getValue().requiresGradient() || !w.hasGradient()) {
                    continue;
                }
                NDArray g = w.getGradient(); // a new handle per call: the scope closes it
                update(e.getKey(), w, g, lr);
                g.subi(g); // manual loops must zero gradients themselves
            }
        }
    }

    protected abstract void update(String id, NDArray w, NDArray g, double lr);

    /** Persistent state slot for a parameter, created as zeros on first use. */
    protected NDArray slot(String id, String name, NDArray like) {
        return state.computeIfAbsent(id + "/" + name, k -> {
            NDArray z = manager.zeros(like.getShape(), like.getDataType());
            NDScope.unregister(z);
            return z;
        });
    }

    /** Named state arrays plus the update count, for checkpoints. */
    public Map<String, NDArray> state() {
        return state;
    }

    public long updates() {
        return updates;
    }

    /** Restores state written by {@link #state()}; arrays are copied into this optimizer's manager. */
    public void load(Map<String, NDArray> saved, long updates) {
        state.values().forEach(NDArray::close);
        state.clear();
        saved.forEach((k, v) -> {
            NDArray copy = manager.create(v.toFloatArray(), v.getShape());
            state.put(k, copy);
        });
        this.updates = updates;
    }

    // Scalars are passed as float: a Java double would become a float64 array in DJL.

    /** AdamW with decoupled weight decay, as torch.optim.AdamW. */
    static final class AdamW extends ParameterOptimizer {
        private final double beta1;
        private final double beta2;
        private final double eps;

        AdamW(NDManager manager, double beta1, double beta2, double eps, double weightDecay) {
            super(manager, weightDecay);
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
        }

        @Override
        protected void update(String id, NDArray w, NDArray g, double lr) {
            NDArray m = slot(id, "m", w);
            NDArray v = slot(id, "v", w);
            if (weightDecay != 0) {
                w.muli((float) (1 - lr * weightDecay));
            }
            m.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
            v.muli((float) beta2).addi(g.square().muli((float) (1 - beta2)));
            double bc1 = 1 - Math.pow(beta1, updates);
            double bc2 = 1 - Math.pow(beta2, updates);
            NDArray denom = v.div((float) bc2).sqrt().addi((float) eps);
            w.subi(m.div(denom).muli((float) (lr / bc1)));
        }
    }

    /** SGD with momentum and coupled weight decay, as torch.optim.SGD. */
    static final class Sgd extends ParameterOptimizer {
        private final double momentum;

        Sgd(NDManager manager, double momentum, double weightDecay) {
            super(manager, weightDecay);
            this.momentum = momentum;
        }

        @Override
        protected void update(String id, NDArray w, NDArray g, double lr) {
            NDArray d = weightDecay != 0 ? g.add(w.mul((float) weightDecay)) : g;
            NDArray buf = slot(id, "momentum", w);
            if (updates == 1) {
                buf.subi(buf).addi(d);
            } else {
                buf.muli((float) momentum).addi(d);
            }
            w.subi(buf.mul((float) lr));
        }
    }
}
