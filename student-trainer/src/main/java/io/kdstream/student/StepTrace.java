package io.kdstream.student;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A trace of every optimizer step a student applies ({@code kdstream student --trace FILE}), kept
 * consistent with its checkpoints so that a crash can be audited afterwards: which batches the
 * surviving model state was trained on, each exactly once?
 *
 * <p>Lines, appended and flushed to the OS one at a time (they survive a kill -9 of the process;
 * the file is fsynced at each checkpoint):
 * <pre>
 * start &lt;step&gt;                           a process starts from the checkpoint of this step (0 = fresh)
 * step &lt;step&gt; &lt;pass&gt; &lt;epoch&gt; &lt;batch&gt;      an applied step
 * checkpoint &lt;step&gt;                      a checkpoint of this step reached the disk
 * </pre>
 * A {@code start S} line rolls back every earlier {@code step} line numbered above S: those steps
 * died with the process that took them, and the model state that holds them was never saved.
 * {@link #replay} applies that rule and returns the surviving history.
 */
public final class StepTrace implements StudentListener, AutoCloseable {

    private final Path file;
    private final FileOutputStream out;
    private final FileChannel channel;

    private StepTrace(Path file) throws IOException {
        this.file = file;
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        boolean tornTail = Files.exists(file) && Files.size(file) > 0 && lastByte(file) != '\n';
        this.out = new FileOutputStream(file.toFile(), true);
        this.channel = out.getChannel();
        if (tornTail) {
            write("\n"); // a kill mid-write left half a line: end it so the next line stands alone
        }
    }

    /** Opens (or continues) the trace file. */
    public static StepTrace open(Path file) throws IOException {
        return new StepTrace(file);
    }

    public Path file() {
        return file;
    }

    @Override
    public void onStart(long step) {
        write("start " + step + "\n");
    }

    @Override
    public void onStep(StepEvent e) {
        String[] key = e.key().split("/", -1);
        write("step " + e.step() + " " + e.pass() + " " + key[0] + " " + key[1] + "\n");
    }

    @Override
    public void onCheckpoint(long step, Path checkpoint) {
        try {
            channel.force(false); // the checkpoint's steps are on the disk before it is reported
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot fsync the trace " + file, ex);
        }
        write("checkpoint " + step + "\n");
    }

    private void write(String line) {
        try {
            out.write(line.getBytes(StandardCharsets.US_ASCII)); // unbuffered: one write(2) per line
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot append to the trace " + file, ex);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            channel.force(false);
        } finally {
            out.close();
        }
    }

    private static int lastByte(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, ch.size() - 1);
            return b.get(0);
        }
    }

    /** One applied step. */
    public record Step(long step, int pass, int epoch, int batch) {
    }

    /**
     * Where a process stopped without saying so, seen from the next process's {@code start} line.
     *
     * @param lastStep       the last step line the dead process wrote (0 if none)
     * @param lastCheckpoint the last checkpoint it reported (its start step if none)
     * @param resumedFrom    the step the next process resumed from
     */
    public record Interruption(long lastStep, long lastCheckpoint, long resumedFrom) {

        /**
         * Where the kill landed, for a student checkpointing every {@code every} steps:
         * {@code after-checkpoint-before-commit} (the checkpoint of the last step is on the disk
         * but was not reported: offsets commit or fsync in progress), {@code mid-checkpoint-write}
         * (the last step was due a checkpoint that never reached the disk), or {@code mid-step}.
         */
        public String where(int every) {
            if (lastStep > lastCheckpoint && resumedFrom == lastStep) {
                return "after-checkpoint-before-commit";
            }
            if (lastStep > lastCheckpoint && lastStep % every == 0) {
                return "mid-checkpoint-write";
            }
            return "mid-step";
        }
    }

    /**
     * What a trace says once rollbacks are applied.
     *
     * @param surviving     steps of the surviving history, in order
     * @param starts        processes that wrote to the trace
     * @param rolledBack    steps taken and then lost to a crash (taken again later)
     * @param torn          lines cut by a kill mid-write, ignored
     * @param interruptions processes that stopped without reaching the end of the run, in order
     */
    public record Replay(List<Step> surviving, int starts, int rolledBack, int torn, List<Interruption> interruptions) {

        /** (pass, epoch, batch) of the grid that no surviving step trained. */
        public List<String> missing(int passes, int epochs, int batchesPerEpoch) {
            Map<String, Integer> seen = counts();
            List<String> out = new ArrayList<>();
            for (int p = 0; p < passes; p++) {
                for (int e = 0; e < epochs; e++) {
                    for (int b = 0; b < batchesPerEpoch; b++) {
                        String k = p + ":" + e + "/" + b;
                        if (!seen.containsKey(k)) {
                            out.add(k);
                        }
                    }
                }
            }
            return out;
        }

        /** Surviving steps beyond the first on the same (pass, epoch, batch). */
        public int duplicates() {
            return counts().values().stream().mapToInt(c -> c - 1).sum();
        }

        /** True when the surviving steps are numbered 1, 2, ... without gaps. */
        public boolean contiguous() {
            for (int i = 0; i < surviving.size(); i++) {
                if (surviving.get(i).step() != i + 1) {
                    return false;
                }
            }
            return true;
        }

        private Map<String, Integer> counts() {
            Map<String, Integer> seen = new HashMap<>();
            for (Step s : surviving) {
                seen.merge(s.pass() + ":" + s.epoch() + "/" + s.batch(), 1, Integer::sum);
            }
            return seen;
        }
    }

    /** Reads a trace and applies its rollbacks. */
    public static Replay replay(Path file) throws IOException {
        List<Step> history = new ArrayList<>();
        List<Interruption> interruptions = new ArrayList<>();
        int starts = 0;
        int rolledBack = 0;
        int torn = 0;
        long lastStep = 0;
        long lastCheckpoint = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
            String[] f = line.trim().split(" ");
            try {
                switch (f[0]) {
                    case "start" -> {
                        long s = Long.parseLong(f[1]);
                        if (starts > 0) {
                            interruptions.add(new Interruption(lastStep, lastCheckpoint, s));
                        }
                        int before = history.size();
                        history.removeIf(x -> x.step() > s);
                        rolledBack += before - history.size();
                        starts++;
                        lastStep = s;
                        lastCheckpoint = s;
                    }
                    case "step" -> {
                        if (f.length != 5) {
                            throw new IllegalArgumentException(line);
                        }
                        Step st = new Step(Long.parseLong(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                                Integer.parseInt(f[4]));
                        history.add(st);
                        lastStep = st.step();
                    }
                    case "checkpoint" -> lastCheckpoint = Long.parseLong(f[1]);
                    default -> {
                        if (!line.isBlank()) {
                            torn++;
                        }
                    }
                }
            } catch (RuntimeException e) {
                torn++;
            }
        }
        return new Replay(List.copyOf(history), starts, rolledBack, torn, List.copyOf(interruptions));
    }
}
