package io.kdstream.manifest;

import java.util.List;
import java.util.stream.Collectors;

/** A service's configuration disagrees with the run's manifest; the message names every field. */
public class ManifestMismatchException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final transient List<RunSpec.FieldDifference> differences;

    public ManifestMismatchException(String runId, List<RunSpec.FieldDifference> differences) {
        super("configuration does not match the manifest of run '" + runId + "': "
                + differences.stream().map(Object::toString).collect(Collectors.joining("; ")));
        this.differences = List.copyOf(differences);
    }

    public List<RunSpec.FieldDifference> differences() {
        return differences;
    }
}
