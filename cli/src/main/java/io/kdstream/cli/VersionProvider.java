package io.kdstream.cli;

import picocli.CommandLine;

/** Version from the jar manifest (falls back to "dev" when run from classes). */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = KdstreamCommand.class.getPackage().getImplementationVersion();
        return new String[] {"kdstream " + (v != null ? v : "dev")};
    }
}
