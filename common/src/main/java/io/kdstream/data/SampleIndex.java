package io.kdstream.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterInputStream;
import java.io.InputStream;
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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where every sample of an image folder or a set of tar shards is, built once by listing the
 * split and cached on disk, so that a restart does not list (or open) a million files again.
 *
 * <p>Row {@code r} is the sample with id {@code r}: for a folder the rank of {@code <class>/<file>}
 * in sorted order (the class is the label), for shards the rank in (sorted shard name, member
 * order) with the label read from the {@code <key>.cls} member. A folder's rows also carry each
 * image's size and whether it is greyscale, read from its header (no pixels are decoded).
 *
 * <p>The cache file records what the index was built from (the modification times of the split
 * folder and of every class folder, or the name, size and modification time of every shard); a
 * split that changed since is listed again, never mixed with the old index. Its {@link #digest}
 * names the exact sample list, so that two processes can tell whether they read the same data.
 */
public final class SampleIndex {
    private static final Logger LOG = LoggerFactory.getLogger(SampleIndex.class);
    private static final String MAGIC = "kdstream-sample-index";
    private static final int FORMAT = 1;
    /** Changes this close to a listing may share its timestamps (coarse file-system clocks). */
    private static final long RACY_MILLIS = 2_000;

    /** Folder of cached indexes: {@code -Dkdstream.index.dir}, {@code $KDSTREAM_INDEX_DIR}, else {@code kdstream-work/index}. */
    public static Path cacheDir() {
        String prop = System.getProperty("kdstream.index.dir");
        String env = System.getenv("KDSTREAM_INDEX_DIR");
        return Path.of(prop != null && !prop.isBlank() ? prop : env != null && !env.isBlank() ? env : "kdstream-work/index");
    }

    final boolean shards;
    final List<String> classNames;
    final String source;      // the fingerprint of what the index was built from
    final List<String> files; // shard file names (shards) or "<class>/<file>" per row (folder)
    final int[] labels;
    final int[] shardOf;      // shards: shard of each row
    final long[] offsets;     // shards: data offset of the image member
    final int[] lengths;      // shards: its size in bytes
    final int[] widths;       // folder: header size (0 = unknown)
    final int[] heights;
    final boolean[] grey;
    private final String digest;

    /** Where each row of a shard set is: its shard, the data offset of its image member and its size. */
    private record Places(int[] shardOf, long[] offsets, int[] lengths) {
    }

    /** Each row's image size and greyness, from the headers of a folder's files. */
    private record Headers(int[] widths, int[] heights, boolean[] grey) {
    }

    private SampleIndex(boolean shards, List<String> classNames, String source, List<String> files, int[] labels,
                        Places places, Headers headers) {
        this.shards = shards;
        this.classNames = List.copyOf(classNames);
        this.source = source;
        this.files = files;
        this.labels = labels;
        this.shardOf = places == null ? null : places.shardOf();
        this.offsets = places == null ? null : places.offsets();
        this.lengths = places == null ? null : places.lengths();
        this.widths = headers == null ? null : headers.widths();
        this.heights = headers == null ? null : headers.heights();
        this.grey = headers == null ? null : headers.grey();
        this.digest = computeDigest();
    }

    public int size() {
        return labels.length;
    }

    /** Whether the split is tar shards rather than a folder of class folders. */
    public boolean isShards() {
        return shards;
    }

    /** SHA-256 prefix of the sample list (names, labels, places): equal digests, same samples under the same ids. */
    public String digest() {
        return digest;
    }

    /** Whether row {@code row}'s header could not be read when the folder was listed (it is never readable). */
    boolean unreadable(int row) {
        return !shards && widths[row] == 0;
    }

    /** What row {@code row} is, for messages: {@code <class>/<file>} or {@code <shard>:<key>}. */
    public String describe(Path dir, int row) {
        return shards ? dir.resolve(files.get(shardOf[row])) + " at byte " + offsets[row] : dir.resolve(files.get(row)).toString();
    }

    /** The encoded image bytes of row {@code row}. */
    byte[] read(Path dir, int row) throws IOException {
        if (!shards) {
            return Files.readAllBytes(dir.resolve(files.get(row)));
        }
        try (FileChannel ch = FileChannel.open(dir.resolve(files.get(shardOf[row])), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(lengths[row]);
            long pos = offsets[row];
            while (buf.hasRemaining()) {
                if (ch.read(buf, pos + buf.position()) < 0) {
                    throw new IOException("shard ends before the member's " + lengths[row] + " bytes (truncated)");
                }
            }
            return buf.array();
        }
    }

    /**
     * The index of {@code dir} (a split: class folders of images, or {@code *.tar} shards): from the
     * cache when it was built from the split as it is now, else listed and cached.
     */
    public static SampleIndex of(Path dir) throws IOException {
        boolean shards = hasShards(dir);
        String source = fingerprint(dir, shards);
        Path cache = cacheFile(dir);
        if (Files.isRegularFile(cache)) {
            try {
                SampleIndex cached = load(cache);
                if (cached.source.equals(source)) {
                    return cached;
                }
                LOG.info("sample index of {} is stale (the folder changed since {}): listing it again", dir, cache);
            } catch (IOException | RuntimeException e) {
                LOG.warn("sample index cache {} unreadable ({}): listing {} again", cache, e.getMessage(), dir);
            }
        }
        long t0 = System.nanoTime();
        long listedAt = System.currentTimeMillis();
        SampleIndex built = shards ? buildShards(dir, source) : buildFolder(dir, source);
        LOG.info(String.format(Locale.ROOT, "indexed %d samples of %s in %.1f s", built.size(), dir,
                (System.nanoTime() - t0) / 1e9));
        if (newestChange(dir, shards) > listedAt - RACY_MILLIS) {
            // changed within the file system's timestamp resolution of the listing: a change made
            // right after it could leave the same times, so this index is not cached (as git treats
            // "racily clean" files); the next start lists the split again
            LOG.debug("not caching the sample index of {}: it changed less than {} ms before it was listed", dir, RACY_MILLIS);
            return built;
        }
        try {
            built.save(cache);
        } catch (IOException e) {
            LOG.warn("cannot cache the sample index of {} in {} ({}); it is listed again at the next start",
                    dir, cache, e.getMessage());
        }
        return built;
    }

    /** Newest modification time among the split folder, its class folders or its shards, in ms. */
    private static long newestChange(Path dir, boolean shards) throws IOException {
        long newest = Files.getLastModifiedTime(dir).toMillis();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> shards ? p.getFileName().toString().endsWith(".tar") : Files.isDirectory(p)).toList()) {
                newest = Math.max(newest, Files.getLastModifiedTime(p).toMillis());
            }
        }
        return newest;
    }

    static boolean hasShards(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".tar") && Files.isRegularFile(p));
        }
    }

    static Path cacheFile(Path dir) {
        return cacheDir().resolve(sha256(dir.toAbsolutePath().normalize().toString()).substring(0, 24) + ".idx");
    }

    /** What the split is now, cheaply: a folder's and its class folders' mtimes (a file added or removed changes them), or every shard's size and mtime. */
    private static String fingerprint(Path dir, boolean shards) throws IOException {
        StringBuilder sb = new StringBuilder(shards ? "shards" : "folder");
        sb.append('|').append(FORMAT);
        List<Path> parts;
        try (Stream<Path> s = Files.list(dir)) {
            parts = s.filter(p -> shards ? p.getFileName().toString().endsWith(".tar") && Files.isRegularFile(p)
                    : Files.isDirectory(p)).sorted().toList();
        }
        if (!shards) {
            sb.append('|').append(Files.getLastModifiedTime(dir).toMillis());
        }
        for (Path p : parts) {
            sb.append('|').append(p.getFileName()).append(':').append(Files.getLastModifiedTime(p).toMillis());
            if (shards) {
                sb.append(':').append(Files.size(p));
            }
        }
        return sb.toString();
    }

    private static SampleIndex buildFolder(Path dir, String source) throws IOException {
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(dir)) {
            classDirs = s.filter(Files::isDirectory).sorted().toList();
        }
        if (classDirs.isEmpty()) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath()
                    + " has no class sub-folders (expected " + dir + "/<class>/<image>.png|jpg, or *.tar shards)");
        }
        List<String> classNames = new ArrayList<>();
        PackedStrings.Builder names = new PackedStrings.Builder();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < classDirs.size(); c++) {
            String cls = classDirs.get(c).getFileName().toString();
            classNames.add(cls);
            List<Path> images;
            try (Stream<Path> s = Files.list(classDirs.get(c))) {
                images = s.filter(SampleIndex::isImage).sorted().toList();
            }
            for (Path p : images) {
                names.add(cls + "/" + p.getFileName());
                labels.add(c);
            }
        }
        List<String> files = names.build();
        if (files.isEmpty()) {
            throw new DatasetNotFoundException("image folder " + dir.toAbsolutePath() + " has no .png/.jpg images");
        }
        int n = files.size();
        int[] w = new int[n];
        int[] h = new int[n];
        boolean[] g = new boolean[n];
        for (int r = 0; r < n; r++) {
            try {
                ImageDecoder.Header hd = ImageDecoder.header(dir.resolve(files.get(r)));
                w[r] = hd.width();
                h[r] = hd.height();
                g[r] = hd.grey();
            } catch (IOException e) {
                // kept in the index (so no other sample's id moves) with no size: every batch leaves
                // it out, and reports it (UnreadableSamples) when it first meets it
            }
        }
        return new SampleIndex(false, classNames, source, files, labels.stream().mapToInt(Integer::intValue).toArray(),
                null, new Headers(w, h, g));
    }

    private static SampleIndex buildShards(Path dir, String source) throws IOException {
        List<Path> tars;
        try (Stream<Path> s = Files.list(dir)) {
            tars = s.filter(p -> p.getFileName().toString().endsWith(".tar") && Files.isRegularFile(p)).sorted().toList();
        }
        List<String> names = new ArrayList<>();
        List<int[]> rows = new ArrayList<>(); // shard, length, label
        List<Long> offsets = new ArrayList<>();
        int maxLabel = -1;
        for (int t = 0; t < tars.size(); t++) {
            Path tar = tars.get(t);
            names.add(tar.getFileName().toString());
            Map<String, long[]> images = new LinkedHashMap<>(); // key -> data offset, size
            Map<String, Integer> classes = new LinkedHashMap<>();
            String cutAt = null;
            // sequential listing: a shard cut short keeps the members before the cut (TarFile
            // refuses the whole archive); the position counted under the stream is each data offset
            try (Counting counted = new Counting(Files.newInputStream(tar));
                 TarArchiveInputStream in = new TarArchiveInputStream(counted)) {
                TarArchiveEntry e;
                while ((e = in.getNextEntry()) != null) {
                    if (!e.isFile()) {
                        continue;
                    }
                    String name = e.getName();
                    int slash = name.lastIndexOf('/');
                    int dot = name.indexOf('.', slash + 1);
                    if (dot < 0) {
                        continue;
                    }
                    String key = name.substring(0, dot);
                    String ext = name.substring(dot + 1).toLowerCase(Locale.ROOT);
                    if (ext.equals("jpg") || ext.equals("jpeg") || ext.equals("png")) {
                        images.put(key, new long[] {counted.position, e.getSize()});
                    } else if (ext.equals("cls")) {
                        String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
                        try {
                            classes.put(key, Integer.parseInt(text));
                        } catch (NumberFormatException ex) {
                            throw new IOException(tar + ": " + name + " holds '" + text + "', not a class index");
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (e.getMessage() == null || !e.getMessage().toLowerCase(Locale.ROOT).contains("truncated")) {
                    throw new IOException("cannot list tar shard " + tar + ": " + oneLine(e), e);
                }
                cutAt = oneLine(e);
            }
            long shardSize = Files.size(tar);
            for (Map.Entry<String, long[]> img : images.entrySet()) {
                Integer label = classes.get(img.getKey());
                if (label == null && cutAt != null) {
                    // the shard ends before this sample's class: it cannot be placed in a class
                    LOG.warn("tar shard {} is truncated ({}): {} is cut off, left out of the index with whatever followed it",
                            tar, cutAt, img.getKey());
                    continue;
                }
                if (label == null) {
                    throw new IOException(tar + ": " + img.getKey() + "'s image has no " + img.getKey() + ".cls");
                }
                if (img.getValue()[0] + img.getValue()[1] > shardSize) {
                    LOG.warn("tar shard {} is truncated: {}'s image ends past the end of the file", tar, img.getKey());
                }
                if (label < 0) {
                    throw new IOException(tar + ": " + img.getKey() + ".cls holds a negative class " + label);
                }
                maxLabel = Math.max(maxLabel, label);
                long len = img.getValue()[1];
                if (len > Integer.MAX_VALUE) {
                    throw new IOException(tar + ": " + img.getKey() + "'s image is larger than 2 GB");
                }
                rows.add(new int[] {t, (int) len, label});
                offsets.add(img.getValue()[0]);
            }
        }
        if (rows.isEmpty()) {
            throw new DatasetNotFoundException("tar shards in " + dir.toAbsolutePath()
                    + " hold no <key>.jpg|jpeg|png with <key>.cls");
        }
        int n = rows.size();
        int[] shardOf = new int[n];
        int[] lengths = new int[n];
        int[] labels = new int[n];
        long[] offs = new long[n];
        for (int r = 0; r < n; r++) {
            shardOf[r] = rows.get(r)[0];
            lengths[r] = rows.get(r)[1];
            labels[r] = rows.get(r)[2];
            offs[r] = offsets.get(r);
        }
        List<String> classNames = new ArrayList<>();
        for (int c = 0; c <= maxLabel; c++) {
            classNames.add(Integer.toString(c));
        }
        return new SampleIndex(true, classNames, source, names, labels, new Places(shardOf, offs, lengths), null);
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(e.getClass().getSimpleName());
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg")) && Files.isRegularFile(p);
    }

    private void save(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp" + ProcessHandle.current().pid());
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
            out.writeUTF(MAGIC);
            out.writeInt(FORMAT);
            out.writeBoolean(shards);
            writeLong(out, source);
            out.writeInt(classNames.size());
            for (String c : classNames) {
                out.writeUTF(c);
            }
            out.writeInt(files.size());
            for (String f : files) {
                writeLong(out, f);
            }
            int n = labels.length;
            out.writeInt(n);
            for (int r = 0; r < n; r++) {
                out.writeInt(labels[r]);
                if (shards) {
                    out.writeInt(shardOf[r]);
                    out.writeLong(offsets[r]);
                    out.writeInt(lengths[r]);
                } else {
                    out.writeInt(widths[r]);
                    out.writeInt(heights[r]);
                    out.writeBoolean(grey[r]);
                }
            }
            out.writeUTF(digest);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static SampleIndex load(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            if (!MAGIC.equals(in.readUTF()) || in.readInt() != FORMAT) {
                throw new IOException("not a sample index of this version");
            }
            boolean shards = in.readBoolean();
            String source = readLong(in);
            int nc = in.readInt();
            List<String> classNames = new ArrayList<>(nc);
            for (int c = 0; c < nc; c++) {
                classNames.add(in.readUTF());
            }
            int nf = in.readInt();
            PackedStrings.Builder names = new PackedStrings.Builder();
            for (int f = 0; f < nf; f++) {
                names.add(readLong(in));
            }
            List<String> files = names.build();
            int n = in.readInt();
            int[] labels = new int[n];
            int[] shardOf = shards ? new int[n] : null;
            long[] offsets = shards ? new long[n] : null;
            int[] lengths = shards ? new int[n] : null;
            int[] w = shards ? null : new int[n];
            int[] h = shards ? null : new int[n];
            boolean[] g = shards ? null : new boolean[n];
            for (int r = 0; r < n; r++) {
                labels[r] = in.readInt();
                if (shards) {
                    shardOf[r] = in.readInt();
                    offsets[r] = in.readLong();
                    lengths[r] = in.readInt();
                } else {
                    w[r] = in.readInt();
                    h[r] = in.readInt();
                    g[r] = in.readBoolean();
                }
            }
            SampleIndex idx = new SampleIndex(shards, classNames, source, files, labels,
                    shards ? new Places(shardOf, offsets, lengths) : null, shards ? null : new Headers(w, h, g));
            if (!idx.digest.equals(in.readUTF())) {
                throw new IOException("digest mismatch (a damaged file)");
            }
            return idx;
        }
    }

    private static void writeLong(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readLong(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String computeDigest() {
        MessageDigest md = sha();
        ByteBuffer buf = ByteBuffer.allocate(24);
        md.update((shards ? "shards" : "folder").getBytes(StandardCharsets.UTF_8));
        for (String c : classNames) {
            md.update(c.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
        }
        for (String f : files) {
            md.update(f.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
        }
        for (int r = 0; r < labels.length; r++) {
            buf.clear();
            buf.putInt(labels[r]);
            if (shards) {
                buf.putInt(shardOf[r]).putLong(offsets[r]).putInt(lengths[r]);
            }
            md.update(buf.array(), 0, buf.position());
        }
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    private static String sha256(String s) {
        return HexFormat.of().formatHex(sha().digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Bytes consumed from the underlying stream: where the tar reader stands in the shard. */
    private static final class Counting extends FilterInputStream {
        long position;

        Counting(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            position += b >= 0 ? 1 : 0;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            position += Math.max(0, n);
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long k = super.skip(n);
            position += k;
            return k;
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
