package io.kdstream.student;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.kdstream.codec.InvalidBatchException;
import io.kdstream.codec.SafeTensors;
import io.kdstream.codec.Tensor;

/**
 * Checkpoints as safetensors files in one directory: {@code step-<n>.safetensors} for the last
 * {@code keep} steps and {@code best.safetensors}. A write goes to a temporary file that is
 * fsynced and then atomically renamed, so a crash leaves either the old or the new checkpoint,
 * never a half one; a SHA-256 over tensors and facts detects corruption anyway (bad disk, manual
 * copy), and loading falls back to the previous valid checkpoint.
 */
public final class CheckpointStore {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "step-";
    private static final String SUFFIX = ".safetensors";
    public static final String BEST = "best" + SUFFIX;

    private final Path dir;
    private final int keep;

    public CheckpointStore(Path dir, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException("must keep at least one checkpoint, got " + keep);
        }
        this.dir = dir;
        this.keep = keep;
    }

    public Path dir() {
        return dir;
    }

    /** Writes the checkpoint for its step and deletes all but the newest {@code keep}. */
    public Path save(Checkpoint c) throws IOException {
        Path file = dir.resolve(String.format("%s%012d%s", PREFIX, c.step(), SUFFIX));
        writeAtomically(file, encode(c));
        List<Path> all = steps();
        for (int i = keep; i < all.size(); i++) {
            Files.deleteIfExists(all.get(i));
        }
        return file;
    }

    /** Writes the checkpoint as the best one so far. */
    public Path saveBest(Checkpoint c) throws IOException {
        Path file = dir.resolve(BEST);
        writeAtomically(file, encode(c));
        return file;
    }

    /** The newest checkpoint that reads back intact; corrupt ones are skipped with a warning. */
    public Optional<Checkpoint> latestValid() {
        for (Path p : steps()) {
            try {
                return Optional.of(read(p));
            } catch (IOException | RuntimeException e) {
                LOG.warn("checkpoint {} is unusable, trying the previous one: {}", p, e.getMessage());
            }
        }
        return Optional.empty();
    }

    /** Checkpoint files, newest first. */
    public List<Path> steps() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(PREFIX) && n.endsWith(SUFFIX);
            }).sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed()).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list checkpoints in " + dir, e);
        }
    }

    /** Reads and verifies one checkpoint file. */
    public static Checkpoint read(Path file) throws IOException {
        SafeTensors.Contents c;
        try {
            c = SafeTensors.read(file);
        } catch (InvalidBatchException e) {
            throw new IOException(file + " is not a valid checkpoint: " + e.getMessage(), e);
        }
        Map<String, String> meta = new TreeMap<>(c.metadata());
        String expected = meta.remove("sha256");
        if (expected == null || !expected.equals(digest(c.tensors(), meta))) {
            throw new IOException(file + " fails its checksum");
        }
        Map<Integer, Long> offsets = new TreeMap<>();
        Map<String, Long> raw = JSON.readValue(meta.remove("offsets"), new TypeReference<Map<String, Long>>() { });
        raw.forEach((k, v) -> offsets.put(Integer.parseInt(k), v));
        long step = Long.parseLong(meta.remove("step"));
        String trained = meta.remove("trained");
        return new Checkpoint(c.tensors(), step, offsets, trained, meta);
    }

    static byte[] encode(Checkpoint c) {
        Map<String, String> meta = new TreeMap<>(c.attributes());
        meta.put("step", Long.toString(c.step()));
        try {
            meta.put("offsets", JSON.writeValueAsString(new TreeMap<>(c.offsets())));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        meta.put("trained", c.trained());
        Map<String, Tensor> tensors = new LinkedHashMap<>(new TreeMap<>(c.tensors()));
        meta.put("sha256", digest(tensors, meta));
        return SafeTensors.encode(tensors, meta);
    }

    private static String digest(Map<String, Tensor> tensors, Map<String, String> meta) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, Tensor> e : new TreeMap<>(tensors).entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(e.getValue().buffer());
            }
            for (Map.Entry<String, String> e : new TreeMap<>(meta).entrySet()) {
                if (!e.getKey().equals("sha256")) {
                    md.update((e.getKey() + "=" + e.getValue() + "\n").getBytes(StandardCharsets.UTF_8));
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void writeAtomically(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            // a full or read-only disk: drop the partial temp file (it would hold the space the next
            // attempt needs) and say what is still there; the existing checkpoints were not touched
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // read-only: nothing was written either
            }
            List<Path> previous = steps();
            throw new IOException("cannot write checkpoint " + file + " (" + e + "); "
                    + (previous.isEmpty() ? "no earlier checkpoint exists" : "the previous checkpoint "
                    + previous.get(0).getFileName() + " is intact"), e);
        }
        // make the rename itself durable
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            LOG.debug("cannot fsync directory {}: {}", dir, e.toString());
        }
    }
}
