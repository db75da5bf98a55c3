package io.kdstream.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import io.kdstream.config.PathOption;
import io.kdstream.student.ProjectorExport;
import io.kdstream.student.ZooExport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kdstream export}: a trained zoo student as a PyTorch state dict, or on request its projections. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Writes a trained cnn, mlp, vit or vit-pool student as a PyTorch state dict (safetensors).",
                "PyTorch names and layouts, float32. A resnet student is refused (examples/zoo.py does not define it); "
                + "a --student FILE.pt student needs no export: it is written back as <checkpoint-dir>/student.pt. "
                + "examples/zoo.py defines the architectures in "
                + "PyTorch; model.load_state_dict(zoo.load_file(FILE)) loads it and model(x) returns (features, logits) "
                + "for input normalized as in training. The projection and optimizer state are not exported.",
                "With --projectors, writes the training-only projections instead, for any student: one "
                + "nn.Linear(d_s, d_t, bias=False).weight [d_t, d_s] per teacher run, keyed <run>.weight."})
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

    @Option(names = "--projectors", description = "Write the student's projections d_s -> d_t (one per teacher run; "
            + "orthogonal ones as their matrix P) instead of the student, zoo or --student FILE.pt alike. They act on "
            + "the student embedding after --student-norm, recorded in the file's metadata.")
    boolean projectors;

    @Override
    public Integer call() throws Exception {
        Path source = ZooExport.select(checkpointDir, which);
        if (projectors) {
            ProjectorExport.Result r = ProjectorExport.export(source, out);
            spec.commandLine().getOut().println("exported the projections of " + r.source() + " (step " + r.step()
                    + ", runs " + String.join(", ", r.runs()) + ") to " + out);
            spec.commandLine().getOut().flush();
            return 0;
        }
        ZooExport.Result r = ZooExport.export(source, out);
        spec.commandLine().getOut().println(ZooExport.describe(r, out));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
