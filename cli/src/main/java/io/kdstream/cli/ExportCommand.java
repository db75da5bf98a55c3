package io.kdstream.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.kdstream.config.PathOption;
import io.kdstream.student.ZooExport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kdstream export}: a trained zoo student as a PyTorch state dict. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Writes a trained cnn, mlp, vit or vit-pool student as a PyTorch state dict (safetensors).",
                "PyTorch names and layouts, float32. A resnet student is refused (examples/zoo.py does not define it); "
                + "a --student FILE.pt student needs no export: it is written back as <checkpoint-dir>/student.pt. "
                + "examples/zoo.py defines the architectures in "
                + "PyTorch; model.load_state_dict(zoo.load_file(FILE)) loads it and model(x) returns (features, logits) "
                + "for input normalized as in training. The projection and optimizer state are not exported."})
public final class ExportCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint-dir", required = true, description = "The student's --checkpoint-dir.")
    Path checkpointDir;

    @Option(names = "--out", required = true, paramLabel = "FILE.safetensors", converter = PathOption.OutputFile.class,
            description = "File to write.")
    Path out;

    @Option(names = "--checkpoint", defaultValue = "best",
            description = "best: best.safetensors, the model at its best evaluation | latest: the newest intact step "
                    + "checkpoint (default: ${DEFAULT-VALUE}).")
    ZooExport.Which which;

    @Override
    public Integer call() throws Exception {
        Path source = ZooExport.select(checkpointDir, which);
        ZooExport.Result r = ZooExport.export(source, out);
        spec.commandLine().getOut().println(ZooExport.describe(r, out));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
