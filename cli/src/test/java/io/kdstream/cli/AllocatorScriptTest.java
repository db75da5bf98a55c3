package io.kdstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.kdstream.testing.Prerequisites;
import io.kdstream.testing.Prerequisites.Need;

/**
 * bin/allocator.sh, which bin/kdstream, the benchmarks and the container entry point source: by
 * default glibc keeps freed memory for reuse; {@code KDSTREAM_ALLOCATOR=jemalloc} preloads jemalloc
 * with decay off, or says in one line that the library is missing; {@code system} changes nothing.
 */
class AllocatorScriptTest {

    private static final Path DEBIAN_JEMALLOC = Path.of("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");

    @TempDir
    Path tmp;

    private record Run(String stdout, String stderr) {
    }

    @Test
    void aPresentLibraryIsPreloadedWithDecayOff() throws Exception {
        Path lib = Files.createFile(tmp.resolve("libjemalloc.so.2"));
        // a preload the user had stays, behind jemalloc (a real library: sh itself is started with it)
        String other = "/lib/x86_64-linux-gnu/libm.so.6";
        Prerequisites.assume(Need.TOOL, Files.isRegularFile(Path.of(other)), "needs " + other + " (glibc)");
        Run r = source("echo \"$LD_PRELOAD|$MALLOC_CONF\"", Map.of("KDSTREAM_ALLOCATOR", "jemalloc",
                "KDSTREAM_JEMALLOC", lib.toString(), "LD_PRELOAD", other));
        assertThat(r.stdout()).isEqualTo(lib + ":" + other + "|dirty_decay_ms:-1,muzzy_decay_ms:-1\n");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void aMissingLibraryIsOneLineAndTheSystemAllocator() throws Exception {
        Run r = source("echo \"[$LD_PRELOAD]\"", Map.of("KDSTREAM_ALLOCATOR", "jemalloc",
                "KDSTREAM_JEMALLOC", tmp.resolve("absent.so").toString()));
        assertThat(r.stdout()).isEqualTo("[]\n");
        assertThat(r.stderr().lines().toList()).singleElement().asString()
                .startsWith("kdstream: KDSTREAM_ALLOCATOR=jemalloc, but libjemalloc.so.2 was not found");
    }

    @Test
    void byDefaultGlibcKeepsFreedMemoryAndNothingIsPreloaded() throws Exception {
        Path lib = Files.createFile(tmp.resolve("libjemalloc.so.2"));
        Run r = source("echo \"[$LD_PRELOAD] $MALLOC_MMAP_THRESHOLD_ $MALLOC_TRIM_THRESHOLD_ $MALLOC_ARENA_MAX\"",
                Map.of("KDSTREAM_JEMALLOC", lib.toString()));
        assertThat(r.stdout()).isEqualTo("[] 33554432 4294967296 1\n");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void systemChangesNothing() throws Exception {
        Run r = source("echo \"[$LD_PRELOAD][$MALLOC_MMAP_THRESHOLD_][$MALLOC_TRIM_THRESHOLD_][$MALLOC_ARENA_MAX]\"",
                Map.of("KDSTREAM_ALLOCATOR", "system"));
        assertThat(r.stdout()).isEqualTo("[][][][]\n");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void debiansJemallocIsReallyLoadedIntoTheProcess() throws Exception {
        Prerequisites.assume(Need.TOOL, Files.isRegularFile(DEBIAN_JEMALLOC), "needs Debian's libjemalloc2 (bin/setup test installs it)");
        Run r = source("exec cat /proc/self/maps", Map.of("KDSTREAM_ALLOCATOR", "jemalloc"));
        assertThat(r.stdout()).contains("libjemalloc.so.2");
    }

    /** Sources the script in sh with {@code env} on top of a clean one, then runs {@code then}. */
    private Run source(String then, Map<String, String> env) throws Exception {
        Path script = repoRoot().resolve("bin/allocator.sh");
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", ". \"$0\"; kdstream_allocator; " + then,
                script.toString());
        pb.environment().keySet().removeIf(k -> k.startsWith("KDSTREAM_") || k.startsWith("MALLOC_")
                || k.equals("LD_PRELOAD"));
        pb.environment().putAll(env);
        Path out = tmp.resolve("out");
        Path err = tmp.resolve("err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("sh finished").isTrue();
        assertThat(p.exitValue()).as("exit code; stderr: %s", Files.readString(err)).isZero();
        return new Run(Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static Path repoRoot() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("bin/allocator.sh"))) {
                return dir;
            }
        }
        throw new IOException("bin/allocator.sh not found above " + Path.of("").toAbsolutePath());
    }
}
