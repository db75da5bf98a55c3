package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/setup, the first step of both README commands, against stand-ins for dpkg-query, id, sudo
 * and apt-get placed first on PATH (the real ones are never called): it installs only what is
 * missing, says nothing when all is there, and without root or sudo stops with one line.
 */
class SetupScriptTest {

    private static final List<String> TEST_PACKAGES = List.of("dataset-fashion-mnist", "libjemalloc2", "libturbojpeg0", "python3-numpy",
            "python3-confluent-kafka", "python3-torch", "python3-torchvision", "prometheus", "docker-compose", "yamllint");

    @TempDir
    Path stubs;

    private record Run(int exitCode, String output, String aptCalls) {
    }

    @Test
    void everythingInstalledMeansSilentSuccessAndNoApt() throws Exception {
        stub("dpkg-query", installed(TEST_PACKAGES));
        stubId(1000);
        Run r = setup("test");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).isEmpty();
        assertThat(r.aptCalls()).isEmpty();
    }

    @Test
    void asRootItInstallsExactlyWhatIsMissing() throws Exception {
        stub("dpkg-query", installed(List.of("libjemalloc2", "libturbojpeg0", "python3-numpy", "python3-torch",
                "python3-torchvision", "prometheus", "yamllint")));
        stubId(0);
        Run r = setup("test");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output().lines().toList()).containsExactly(
                "bin/setup: installing dataset-fashion-mnist python3-confluent-kafka docker-compose");
        assertThat(r.aptCalls().lines().toList()).containsExactly(LOCK_WAIT + " update -qq", LOCK_WAIT
                + " install -y -qq --no-install-recommends dataset-fashion-mnist python3-confluent-kafka docker-compose");
    }

    @Test
    void theDemoNeedsOnlyTheDatasetAndTheAllocator() throws Exception {
        stub("dpkg-query", installed(List.of()));
        stubId(0);
        Run r = setup("demo");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.aptCalls()).contains("install -y -qq --no-install-recommends dataset-fashion-mnist libjemalloc2\n")
                .doesNotContain("prometheus");
    }

    @Test
    void aUserWithSudoInstallsThroughSudo() throws Exception {
        stub("dpkg-query", installed(List.of("libjemalloc2")));
        stubId(1000);
        stub("sudo", "[ \"$1\" = -n ] && exit 0\necho \"sudo\" >> \"$STUBS/sudo.log\"\nexec \"$@\"");
        Run r = setup("demo");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).isEqualTo("bin/setup: installing dataset-fashion-mnist (with sudo)\n");
        assertThat(r.aptCalls()).contains("install -y -qq --no-install-recommends dataset-fashion-mnist");
        assertThat(Files.readAllLines(stubs.resolve("sudo.log"))).hasSize(2); // update and install
    }

    @Test
    void withoutRootOrSudoItStopsWithOneLineNamingTheCommand() throws Exception {
        stub("dpkg-query", installed(List.of("libjemalloc2", "libturbojpeg0", "python3-numpy")));
        stubId(1000);
        stub("sudo", "exit 1"); // present but not usable without a password, and stdin is no terminal
        Run r = setup("test");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output().lines().toList()).singleElement().asString()
                .startsWith("bin/setup: missing dataset-fashion-mnist python3-confluent-kafka python3-torch "
                        + "python3-torchvision prometheus")
                .endsWith("as root run: apt-get update && apt-get install -y --no-install-recommends "
                        + "dataset-fashion-mnist python3-confluent-kafka python3-torch python3-torchvision prometheus "
                        + "docker-compose yamllint");
        assertThat(r.aptCalls()).isEmpty();
    }

    @Test
    void asRootItSaysTheDpkgLockIsHeldAndWaitsForIt() throws Exception {
        stub("dpkg-query", installed(List.of()));
        stubId(0);
        // apt-get waiting on DPkg::Lock::Timeout prints this, then gets the lock
        aptGet("echo 'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by "
                + "process 4242 (unattended-upgr)... 1s' >&2\nsleep 1");
        Run r = setup("demo");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output().lines().toList()).containsExactly(
                "bin/setup: installing dataset-fashion-mnist libjemalloc2",
                "bin/setup: the dpkg lock is held by process 4242 (unattended-upgr); waiting up to 120 s for it");
    }

    @Test
    void asRootALockHeldTooLongIsNamedNotRunAsRoot() throws Exception {
        stub("dpkg-query", installed(List.of()));
        stubId(0);
        aptGet("echo 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)' >&2\n"
                + "exit 100");
        Run r = setup("demo");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).doesNotContain("as root").endsWith("bin/setup: the dpkg lock is still held by process 4242 "
                + "(apt-get) after 120 s; run bin/setup again when it has finished\n");
    }

    @Test
    void anUnknownPurposeIsAUsageError() throws Exception {
        Run r = setup("everything");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.output()).startsWith("usage: bin/setup demo|test");
    }

    // ------------------------------------------------------------------ helpers

    /** A dpkg-query that reports these packages installed and knows no others. */
    private static String installed(List<String> packages) {
        StringBuilder s = new StringBuilder();
        for (String p : packages) {
            s.append("echo '").append(p).append(" ii '\n");
        }
        return s.append("exit 0").toString();
    }

    private static final String LOCK_WAIT = "-o DPkg::Lock::Timeout=120";

    /** An apt-get that logs its arguments, then runs {@code body}. */
    private void aptGet(String body) throws IOException {
        stub("apt-get", "echo \"$*\" >> \"$STUBS/apt.log\"\n" + body);
    }

    private void stubId(int uid) throws IOException {
        stub("id", "echo " + uid);
    }

    private void stub(String name, String body) throws IOException {
        Path f = stubs.resolve(name);
        Files.writeString(f, "#!/bin/sh\n" + body + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Run setup(String purpose) throws Exception {
        if (!Files.exists(stubs.resolve("apt-get"))) {
            aptGet("");
        }
        stub("javac", "exit 0"); // present, so setup never adds a JDK or Maven here
        stub("mvn", "exit 0");
        if (!Files.exists(stubs.resolve("sudo"))) {
            stub("sudo", "exit 1");
        }
        Path script = repoRoot().resolve("bin/setup");
        Path out = stubs.resolve("out.log");
        ProcessBuilder pb = new ProcessBuilder(script.toString(), purpose).redirectErrorStream(true)
                .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("PATH", stubs + ":" + System.getenv("PATH"));
        pb.environment().put("STUBS", stubs.toString());
        pb.environment().remove("KDSTREAM_DATASETS");
        pb.environment().remove("KDSTREAM_SETUP_LOCK_WAIT");
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("bin/setup finished").isTrue();
        Path apt = stubs.resolve("apt.log");
        return new Run(p.exitValue(), Files.readString(out), Files.exists(apt) ? Files.readString(apt) : "");
    }

    private static Path repoRoot() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("bin/setup"))) {
                return dir;
            }
        }
        throw new IOException("bin/setup not found above " + Path.of("").toAbsolutePath());
    }
}
