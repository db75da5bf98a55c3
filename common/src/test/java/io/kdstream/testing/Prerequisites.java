package io.kdstream.testing;

import org.opentest4j.TestAbortedException;

/**
 * What a test needs from the machine, and the one way a test is skipped when it is missing: with a
 * reason that names the need. On CI nothing may be missing that {@code bin/setup test} installs:
 * in strict mode ({@code -Dkdstream.test.strict=true}, on by default where the environment says
 * {@code CI=true}) such a test fails instead of skipping. Only {@link Need#DOCKER}, {@link Need#GPU}
 * and {@link Need#PRIVILEGED_TMPFS}, which a CI container cannot be counted on to have, still skip.
 * {@code .ci/run} lists every skip and its reason at the end of the build.
 */
public final class Prerequisites {

    /** The system property that turns strict mode on ({@code true}) or off ({@code false}). */
    public static final String STRICT_PROPERTY = "kdstream.test.strict";

    /** A thing a test may need; {@code ciProvides} says whether a skip for its absence is a CI defect. */
    public enum Need {
        DATASET("dataset", true),
        PYTHON("python modules", true),
        PYTORCH("python3-torch", true),
        TOOL("tool", true),
        NATIVE_LIBRARY("native library", true),
        BUILD_ARTIFACT("build artifact", true),
        DOCKER("docker", false),
        GPU("gpu", false),
        PRIVILEGED_TMPFS("privileged tmpfs", false);

        private final String label;
        private final boolean ciProvides;

        Need(String label, boolean ciProvides) {
            this.label = label;
            this.ciProvides = ciProvides;
        }

        public String label() {
            return label;
        }

        /** Whether CI (bin/setup test, the build itself) is supposed to provide it. */
        public boolean ciProvides() {
            return ciProvides;
        }
    }

    private Prerequisites() {
    }

    /** Whether skips for a need CI provides fail: the property if set, else whether {@code CI=true}. */
    public static boolean strict() {
        String p = System.getProperty(STRICT_PROPERTY, "").trim();
        if (!p.isEmpty()) {
            return Boolean.parseBoolean(p);
        }
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Skips (or in strict mode, for a need CI provides, fails) the test unless {@code present}. */
    public static void assume(Need need, boolean present, String reason) {
        if (!present) {
            throw missing(need, reason);
        }
    }

    /** {@link #assume} for probes that return why something is missing, or null when it is there. */
    public static void assumeNull(Need need, String whyMissing) {
        if (whyMissing != null) {
            throw missing(need, whyMissing);
        }
    }

    /**
     * The exception that reports {@code need} missing: a skip whose message starts with
     * {@code [<need>]}; in strict mode, for a need CI provides, this throws an {@link AssertionError}.
     */
    public static RuntimeException missing(Need need, String reason) {
        failIfStrict(need, reason);
        return new TestAbortedException(skipReason(need, reason));
    }

    /** In strict mode, for a need CI provides: an {@link AssertionError} saying what is missing. */
    public static void failIfStrict(Need need, String reason) {
        if (strict() && need.ciProvides()) {
            throw new AssertionError("strict mode (" + STRICT_PROPERTY + " or CI=true) allows no skip for a "
                    + need.label() + " that CI must provide: " + skipReason(need, reason));
        }
    }

    /** The skip message for {@code need}: {@code [<need>] <reason>}, the form .ci/run groups skips by. */
    public static String skipReason(Need need, String reason) {
        return "[" + need.label() + "] " + reason;
    }
}
