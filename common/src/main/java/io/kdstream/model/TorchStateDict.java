package io.kdstream.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.util.Pair;

import io.kdstream.codec.DType;
import io.kdstream.codec.Tensor;

/**
 * A zoo network's parameters as a PyTorch {@code state_dict}, for {@code examples/zoo.py}: the
 * PyTorch modules there mirror the DJL block tree, so names follow from it mechanically. A child of
 * a {@link SequentialBlock} or {@link ParallelBlock} becomes its index ({@code nn.Sequential}); any
 * other child keeps its name without DJL's {@code 01} prefix; {@code gamma}/{@code beta} become
 * {@code weight}/{@code bias} and BatchNorm's running statistics {@code running_mean}/{@code running_var}.
 * DJL already stores Linear weights as [out, in] and convolutions as [out, in, kh, kw], PyTorch's
 * layouts, so tensors are renamed, never transposed. Each BatchNorm also gets the
 * {@code num_batches_tracked} buffer PyTorch's {@code load_state_dict} expects.
 */
public final class TorchStateDict {

    private TorchStateDict() {
    }

    /**
     * DJL parameter name (as {@link Block#getParameters()} spells it) to PyTorch state-dict name,
     * in DJL's order.
     */
    public static Map<String, String> names(Block net) {
        Map<String, String> out = new LinkedHashMap<>();
        walk(net, "", "", out, null);
        return out;
    }

    /** PyTorch prefixes (ending in '.') of the BatchNorm modules, which carry {@code num_batches_tracked}. */
    public static List<String> batchNormPrefixes(Block net) {
        List<String> out = new java.util.ArrayList<>();
        walk(net, "", "", new LinkedHashMap<>(), out);
        return out;
    }

    /**
     * The state dict of a zoo network from its parameters keyed by DJL name.
     *
     * @param djl               every parameter of {@code net}, as F32 tensors, keyed by DJL name
     * @param batchesTracked    the value of each BatchNorm's {@code num_batches_tracked} (the optimizer steps
     *                          it trained for: one training forward per step)
     * @throws IllegalArgumentException naming the first parameter that is missing or left over
     */
    public static Map<String, Tensor> of(Block net, Map<String, Tensor> djl, long batchesTracked) {
        Map<String, String> names = names(net);
        TreeSet<String> extra = new TreeSet<>(djl.keySet());
        extra.removeAll(names.keySet());
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException("parameter " + extra.first() + " is not part of this architecture");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        names.forEach((djlName, torchName) -> {
            Tensor t = djl.get(djlName);
            if (t == null) {
                throw new IllegalArgumentException("parameter " + djlName + " (" + torchName + ") is missing");
            }
            out.put(torchName, t.dtype() == DType.F32 ? t : t.castTo(DType.F32));
        });
        for (String bn : batchNormPrefixes(net)) {
            out.put(bn + "num_batches_tracked", Tensor.ofLongs(new int[0], new long[] {batchesTracked}));
        }
        return out;
    }

    /**
     * As {@link #of(Block, Map, long)} for a zoo architecture. Names depend on the block structure
     * alone, not on input channels or classes, so any build of {@code arch} names them.
     */
    public static Map<String, Tensor> of(Architecture arch, Map<String, Tensor> djl, long batchesTracked) {
        return of(arch.build(1, 1), djl, batchesTracked);
    }

    private static void walk(Block block, String djlPrefix, String torchPrefix, Map<String, String> out,
                             List<String> batchNorms) {
        for (Parameter p : block.getDirectParameters().values()) {
            out.put(djlPrefix + p.getName(), torchPrefix + torchParameter(p.getName()));
        }
        if (batchNorms != null && block instanceof BatchNorm) {
            batchNorms.add(torchPrefix);
        }
        boolean indexed = block instanceof SequentialBlock || block instanceof ParallelBlock;
        int i = 0;
        for (Pair<String, Block> child : block.getChildren()) {
            String name = child.getKey();
            String torchName = indexed ? Integer.toString(i) : name.replaceFirst("^\\d\\d", "");
            walk(child.getValue(), djlPrefix + name + "_", torchPrefix + torchName + ".", out, batchNorms);
            i++;
        }
    }

    private static String torchParameter(String djl) {
        return switch (djl) {
            case "gamma" -> "weight";
            case "beta" -> "bias";
            case "runningMean" -> "running_mean";
            case "runningVar" -> "running_var";
            default -> djl;
        };
    }
}
