package io.kdstream.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Every child JVM gets this JVM's java, runs DJL offline, and its options in the order given. */
class KdstreamJvmTest {

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @Test
    void aMainClassRunsOfflineOnThisClassPath() {
        KdstreamJvm jvm = KdstreamJvm.mainClass(KdstreamJvmTest.class, "--run", "r1").optHeap("512m")
                .optSingleTorchThread().optJvmOption("-XX:+UseSerialGC").build();
        assertThat(jvm.command()).containsExactly(JAVA, "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1", "-Xmx512m", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), KdstreamJvmTest.class.getName(), "--run", "r1");
        assertThat(jvm.processBuilder().environment()).containsEntry("DJL_OFFLINE", "true");
    }

    @Test
    void aKdstreamSubcommandFromAJarOrPinnedToACpu() {
        assertThat(KdstreamJvm.kdstream(List.of("broker", "--port", "0")).optJar(Path.of("k.jar")).build().command())
                .containsExactly(JAVA, "-Dai.djl.offline=true", "-cp", "k.jar" + java.io.File.pathSeparator
                        + Path.of("lib", "broker", "*"), KdstreamJvm.KDSTREAM_MAIN, "broker", "--port", "0");
        assertThat(KdstreamJvm.kdstream(List.of("teacher")).optCpus("0").build().command())
                .startsWith("taskset", "-c", "0", JAVA).endsWith(KdstreamJvm.KDSTREAM_MAIN, "teacher");
    }

    @Test
    void theChildRunsAndItsOutputGoesWhereAsked() throws Exception {
        try (WatchedProcess p = WatchedProcess.start(KdstreamJvm.mainClass(Hello.class).optMergedOutput()
                .optEnv("KDSTREAM_TEST_GREETING", "hello").build())) {
            assertThat(p.assertSuccess(Duration.ofSeconds(60)).stdout()).contains("hello offline=true");
        }
    }

    /** The child of {@link #theChildRunsAndItsOutputGoesWhereAsked}. */
    public static final class Hello {
        public static void main(String[] args) {
            System.out.println(System.getenv("KDSTREAM_TEST_GREETING") + " offline=" + System.getProperty("ai.djl.offline"));
        }
    }
}
