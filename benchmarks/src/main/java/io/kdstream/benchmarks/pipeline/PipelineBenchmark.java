package io.kdstream.benchmarks.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import io.kdstream.benchmarks.feed.SyntheticBatches;
import io.kdstream.codec.FeatureBatch;
import io.kdstream.manifest.RunSpec;
import io.kdstream.broker.EmbeddedKafkaBroker;
import io.kdstream.kafka.KafkaClients;
import io.kdstream.kafka.RunTopics;

/**
 * What streaming teacher features through Kafka costs a student, measured side by side in one run
 * on the embedded broker (issue 13): feed cost (memory-fed vs Kafka-fed, same student, same
 * batches, same steps), codec throughput against {@code System.arraycopy}, the broker path
 * (transactional + read_committed vs plain), send-to-step latency, and memory over 10,000
 * Kafka-fed steps. Every ratio is taken from interleaved repetitions in this JVM, so load from
 * other jobs hits both sides alike. Prints Markdown rows for docs/benchmarks.md. Each section is a
 * class of this package ({@link CodecSection}, {@link BrokerSection}, {@link FeedCostSection},
 * {@link LatencySection}, {@link TeacherCostSection}, {@link PyTorchPeerSection}, {@link MemorySection},
 * {@link ImageDataSection}, {@link JoinSection});
 * they reach the student through its public API, in-memory feeds through {@code StudentTrainer.Builder.optFeed}.
 *
 * <pre>benchmarks/pipeline.sh [--quick] [--only SECTION,...] [--images N] [--corpus DIR] [--rounds R] [--no-scale]</pre>
 * {@code --images N}: the images section's corpus size (default 4,000; 400 with {@code --quick});
 * {@code --corpus DIR}: read an existing {@code kdstream corpus} folder instead of writing one;
 * {@code --rounds R}: its rounds per worker count (default 2); {@code --no-scale}: without its
 * index and RSS rows at 10,000 and 100,000 files.
 */
public final class PipelineBenchmark {

    private final PipelineSection.Bench bench;

    private final Integer images;
    private final Path corpus;
    private final int rounds;
    private final boolean scale;

    private PipelineBenchmark(String bootstrap, Path work, boolean quick, Integer images, Path corpus, int rounds,
                              boolean scale) {
        this.bench = new PipelineSection.Bench(KafkaClients.of(bootstrap), bootstrap, work, quick, new ArrayList<>(),
                new PipelinePlot());
        this.images = images;
        this.corpus = corpus;
        this.rounds = rounds;
        this.scale = scale;
    }

    private static final List<String> SECTIONS = List.of("codec", "broker", "compression", "feed", "latency", "teacher",
            "pytorch", "memory", "images", "join");

    /** {@code [--quick] [--only SECTION,...] [--images N] [--corpus DIR] [--rounds R] [--no-scale]}, sections as in {@link #SECTIONS}. */
    public static void main(String[] args) throws Exception {
        List<String> a = Arrays.asList(args);
        boolean quick = a.contains("--quick");
        int only = a.indexOf("--only");
        List<String> sections = only < 0 ? SECTIONS
                : only + 1 < a.size() ? Arrays.asList(a.get(only + 1).split(",")) : List.of();
        String imagesArg = valueOf(a, "--images");
        String corpusArg = valueOf(a, "--corpus");
        Integer images = imagesArg == null || !imagesArg.matches("[1-9][0-9]{0,8}") ? null : Integer.valueOf(imagesArg);
        Path corpus = corpusArg == null ? null : Path.of(corpusArg).toAbsolutePath();
        String roundsArg = valueOf(a, "--rounds");
        int rounds = roundsArg == null ? 2 : roundsArg.matches("[1-9]") ? Integer.parseInt(roundsArg) : -1;
        if (sections.isEmpty() || !SECTIONS.containsAll(sections) || (imagesArg != null && images == null)
                || (a.contains("--images") && imagesArg == null) || (a.contains("--corpus") && corpusArg == null)
                || (a.contains("--rounds") && roundsArg == null) || rounds < 0
                || a.stream().anyMatch(x -> x.startsWith("--")
                        && !List.of("--quick", "--only", "--images", "--corpus", "--rounds", "--no-scale").contains(x))) {
            System.err.println("usage: pipeline.sh [--quick] [--only " + String.join(",", SECTIONS)
                    + "] [--images N] [--corpus DIR] [--rounds 1..9] [--no-scale]");
            System.exit(2);
        }
        if (corpus != null && !Files.isDirectory(corpus.resolve("train"))) {
            System.err.println("--corpus " + corpus + ": no train/ folder (write one with kdstream corpus --out DIR)");
            System.exit(2);
        }
        Path work = Files.createTempDirectory("kdstream-pipeline-bench-");
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().optDataDir(work.resolve("kafka"))
                .optCleanStart(true).build().start()) {
            PipelineBenchmark b = new PipelineBenchmark(broker.bootstrapServers(), work, quick, images, corpus, rounds,
                    !a.contains("--no-scale"));
            b.runAll(sections);
        }
    }

    /** The word after {@code flag}, or null. */
    private static String valueOf(List<String> a, String flag) {
        int i = a.indexOf(flag);
        return i < 0 || i + 1 >= a.size() || a.get(i + 1).startsWith("--") ? null : a.get(i + 1);
    }

    private void runAll(List<String> sections) throws Exception {
        boolean quick = bench.quick();
        int batches = quick ? 60 : 300;
        RunSpec run = PipelineSection.spec("bench-" + UUID.randomUUID().toString().substring(0, 8), batches);
        List<FeatureBatch> data = SyntheticBatches.batches(run);
        BrokerSection broker = new BrokerSection(bench);
        broker.createTopic(new RunTopics(run.runId()).features());
        broker.createTopic(new RunTopics(run.runId()).dlq());

        if (sections.contains("codec")) {
            new CodecSection(bench).run(data.get(0));
        }
        if (sections.contains("broker") || sections.contains("feed") || sections.contains("memory")) {
            broker.run(run, data); // also fills <run>.features for the Kafka-fed rows
        }
        if (sections.contains("compression")) {
            broker.compression(run, quick ? 30 : 300);
        }
        if (sections.contains("feed")) {
            new FeedCostSection(bench).run(run, data, "mlp", 1);
            new FeedCostSection(bench).run(run, data, "cnn", 0);
        }
        if (sections.contains("latency")) {
            new LatencySection(bench).run(run, data);
        }
        if (sections.contains("teacher")) {
            new TeacherCostSection(bench).run(quick ? 12 : 80);
        }
        if (sections.contains("pytorch")) {
            new PyTorchPeerSection(bench).run(quick ? 6_400 : 60_000);
        }
        if (sections.contains("memory")) {
            new MemorySection(bench).run(run, quick ? 1_000 : 10_000);
        }
        if (sections.contains("join")) {
            new JoinSection(bench).run(quick ? 60 : 300, quick ? 1_000 : 10_000);
        }
        if (sections.contains("images")) {
            new ImageDataSection(bench).run(images != null ? images : quick ? 400 : 4_000, corpus, rounds, scale);
        }

        System.out.println();
        System.out.println("| measurement | result |");
        System.out.println("|---|---|");
        bench.rows().forEach(System.out::println);
        // a full run's figure goes to the docs; a smoke or partial run's must not replace it
        Path figure = Path.of(quick || sections.size() < SECTIONS.size() ? "benchmarks/target/pipeline-partial.png"
                : "docs/pipeline.png");
        bench.plot().write(figure);
        System.out.println("figure: " + figure.toAbsolutePath());
    }
}
