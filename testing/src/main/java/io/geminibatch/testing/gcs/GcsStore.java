package io.geminibatch.testing.gcs;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The emulated Cloud Storage: buckets and objects, the contents on disk (never whole in memory),
 * the metadata in memory. The HTTP front end ({@link GcsHandler}, on the emulator's port under
 * {@code /storage/v1}, {@code /upload/storage/v1}, {@code /download/storage/v1} and {@code
 * /batch/storage/v1}) and other emulated APIs (Vertex AI batch prediction reads its input and
 * writes its output here) share one instance, reached as {@code GeminiEmulator.storage()}:
 *
 * <pre>{@code
 * GcsStore gcs = emulator.storage();
 * gcs.createBucket("my-bucket");
 * gcs.putObject("my-bucket", "in/prompts.jsonl", Path.of("prompts.jsonl"));
 * try (InputStream in = gcs.openObject("my-bucket", "in/prompts.jsonl")) { ... }
 * try (OutputStream out = gcs.newObjectWriter("my-bucket", "out/predictions.jsonl", "application/jsonl")) {
 *   ... // the object appears, as one new generation, when the stream is closed
 * }
 * for (GcsObject o : gcs.listObjects("my-bucket", "out/")) { ... o.name(), o.size() ... }
 * gcs.deleteObject("my-bucket", "in/prompts.jsonl");
 * }</pre>
 *
 * <p>Semantics are the service's: every write makes a new generation (a microsecond timestamp,
 * strictly increasing) with metageneration 1, and replaces the live object atomically; a reader
 * that opened the previous generation keeps reading it. Names sort as strings. Preconditions
 * ({@link GcsPreconditions}) fail with {@code 412}, a missing bucket or object with {@code 404};
 * every failure is a {@link GcsException} carrying the status and Google's message. All methods
 * are thread-safe.
 */
public final class GcsStore {
  private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]");
  private static final int BUFFER = 1 << 16;

  private final Path blobs;
  private final Path tmp;
  private final AtomicLong fileSeq = new AtomicLong();
  private final AtomicLong lastGeneration = new AtomicLong();
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final Set<String> denied = ConcurrentHashMap.newKeySet();
  private final ConcurrentHashMap<String, AtomicLong> calls = new ConcurrentHashMap<>();
  private final long seed;
  private volatile GcsFaults faults = GcsFaults.none();
  private SplittableRandom unavailableDice;
  private SplittableRandom dropDice;

  /** A bucket's metadata and its live objects by name, guarded by the bucket's monitor. */
  static final class Bucket {
    final String name;
    final Instant timeCreated;
    final long generation;
    final NavigableMap<String, GcsObject> objects = new TreeMap<>();

    Bucket(String name, Instant timeCreated, long generation) {
      this.name = name;
      this.timeCreated = timeCreated;
      this.generation = generation;
    }
  }

  /** A bucket as listed: its name and creation time. */
  public record GcsBucket(String name, Instant timeCreated) {}

  /**
   * A store whose files live under {@code root} (created if missing; the caller deletes it).
   * {@code seed} seeds the fault streams.
   */
  public GcsStore(Path root, long seed) throws IOException {
    this.blobs = Files.createDirectories(root.resolve("blobs"));
    this.tmp = Files.createDirectories(root.resolve("tmp"));
    this.seed = seed;
    setFaults(GcsFaults.none());
  }

  // --- buckets ---------------------------------------------------------------------------------

  /** Creates a bucket; {@code 409 conflict} if it exists, {@code 400 invalid} for a bad name. */
  public GcsBucket createBucket(String name) {
    if (name == null || !BUCKET_NAME.matcher(name).matches()) {
      throw GcsException.invalid("Invalid bucket name: '" + name + "'");
    }
    Bucket b = new Bucket(name, now(), nextGeneration());
    if (buckets.putIfAbsent(name, b) != null) {
      throw new GcsException(
          409,
          "conflict",
          "Your previous request to create the named bucket succeeded and you already own it.");
    }
    return new GcsBucket(name, b.timeCreated);
  }

  /** Creates the bucket unless it exists. */
  public void ensureBucket(String name) {
    if (!buckets.containsKey(name)) {
      try {
        createBucket(name);
      } catch (GcsException e) {
        if (e.httpCode() != 409) {
          throw e;
        }
      }
    }
  }

  public Optional<GcsBucket> getBucket(String name) {
    Bucket b = buckets.get(name);
    return b == null ? Optional.empty() : Optional.of(new GcsBucket(b.name, b.timeCreated));
  }

  /** All buckets, by name. */
  public List<GcsBucket> listBuckets() {
    return buckets.values().stream()
        .map(b -> new GcsBucket(b.name, b.timeCreated))
        .sorted((x, y) -> x.name().compareTo(y.name()))
        .toList();
  }

  /** Deletes an empty bucket; {@code 409} if it holds objects, {@code 404} if missing. */
  public void deleteBucket(String name) {
    Bucket b = bucket(name);
    synchronized (b) {
      if (!b.objects.isEmpty()) {
        throw new GcsException(409, "conflict", "The bucket you tried to delete is not empty.");
      }
      buckets.remove(name, b);
    }
  }

  /**
   * From now on, every HTTP call on {@code bucket} (or its objects) is answered {@code 403
   * forbidden}, as for a caller without the permission; the in-process API is not affected.
   */
  public void denyAccess(String bucket) {
    denied.add(bucket);
  }

  /** Undoes {@link #denyAccess(String)}. */
  public void allowAccess(String bucket) {
    denied.remove(bucket);
  }

  boolean isDenied(String bucket) {
    return denied.contains(bucket);
  }

  GcsBucket bucketInfo(String name) {
    Bucket b = bucket(name);
    return new GcsBucket(b.name, b.timeCreated);
  }

  long bucketGeneration(String name) {
    return bucket(name).generation;
  }

  // --- objects: the in-process API ------------------------------------------------------------

  /** Stores {@code content} (read to its end, not closed) as a new generation of the object. */
  public GcsObject putObject(String bucket, String name, InputStream content) throws IOException {
    return putObject(bucket, name, "application/octet-stream", content, GcsPreconditions.none());
  }

  /** Stores the file's bytes as a new generation of the object. */
  public GcsObject putObject(String bucket, String name, Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return putObject(bucket, name, "application/octet-stream", in, GcsPreconditions.none());
    }
  }

  /** Stores {@code content} under {@code name} if {@code preconditions} hold (else 412). */
  public GcsObject putObject(
      String bucket, String name, String contentType, InputStream content, GcsPreconditions preconditions)
      throws IOException {
    bucket(bucket);
    return commit(bucket, name, stage(content), new WriteOptions(contentType, null, Map.of(), preconditions));
  }

  /**
   * A stream whose bytes become the object when it is closed (as one new generation; nothing is
   * visible before). Abandoning it without closing leaves a temporary file until the store's
   * directory is deleted.
   */
  public OutputStream newObjectWriter(String bucket, String name, String contentType)
      throws IOException {
    bucket(bucket);
    checkName(name);
    Path file = tmp.resolve("w" + fileSeq.incrementAndGet());
    MessageDigest md5 = md5();
    CRC32C crc = new CRC32C();
    OutputStream disk = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW);
    return new FilterOutputStream(disk) {
      private long size;
      private boolean closed;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        md5.update(b, off, len);
        crc.update(b, off, len);
        size += len;
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        if (closed) {
          return;
        }
        closed = true;
        super.close();
        commit(
            bucket,
            name,
            new Staged(file, size, md5.digest(), (int) crc.getValue()),
            new WriteOptions(contentType, null, Map.of(), GcsPreconditions.none()));
      }
    };
  }

  /** The live object's metadata, if there is one. */
  public Optional<GcsObject> getObject(String bucket, String name) {
    Bucket b = bucket(bucket);
    synchronized (b) {
      return Optional.ofNullable(b.objects.get(name));
    }
  }

  /** Reads the live object from its first byte; {@code 404} if there is none. */
  public InputStream openObject(String bucket, String name) throws IOException {
    return Channels.newInputStream(open(bucket, name, null).channel());
  }

  /** The live objects whose names start with {@code prefix} ("" for all), by name. */
  public List<GcsObject> listObjects(String bucket, String prefix) {
    Bucket b = bucket(bucket);
    synchronized (b) {
      return List.copyOf(b.objects.subMap(prefix, true, prefix + Character.MAX_VALUE, false).values());
    }
  }

  /** Deletes the live object; false if there was none. */
  public boolean deleteObject(String bucket, String name) throws IOException {
    try {
      deleteObject(bucket, name, GcsPreconditions.none());
      return true;
    } catch (GcsException e) {
      if (e.httpCode() == 404 && bucketExists(bucket)) {
        return false;
      }
      throw e;
    }
  }

  private boolean bucketExists(String bucket) {
    return buckets.containsKey(bucket);
  }

  // --- faults and counters ----------------------------------------------------------------------

  public GcsFaults faults() {
    return faults;
  }

  /** Sets the faults and restarts their random streams from the seed. */
  public synchronized void setFaults(GcsFaults f) {
    this.faults = java.util.Objects.requireNonNull(f, "faults");
    this.unavailableDice = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 101);
    this.dropDice = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 202);
  }

  synchronized boolean rollUnavailable() {
    return faults.unavailableRate() > 0 && unavailableDice.nextDouble() < faults.unavailableRate();
  }

  synchronized boolean rollDropDownload() {
    return faults.dropDownloadRate() > 0 && dropDice.nextDouble() < faults.dropDownloadRate();
  }

  void count(String endpoint) {
    calls.computeIfAbsent(endpoint, k -> new AtomicLong()).incrementAndGet();
  }

  /**
   * Calls received by endpoint since the start or {@link #resetStats()}: {@code
   * storage.objects.get}, {@code .list}, {@code .insert}, {@code .delete}, {@code .rewrite},
   * {@code .compose}, {@code .download}, {@code storage.buckets.*}, {@code storage.batch},
   * {@code storage.fault.unavailable}, {@code storage.fault.dropDownload}; a batch's parts count
   * as their own endpoints too.
   */
  public Map<String, Long> calls() {
    Map<String, Long> out = new TreeMap<>();
    calls.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  /** Calls received on {@code endpoint} (0 when none). */
  public long calls(String endpoint) {
    AtomicLong n = calls.get(endpoint);
    return n == null ? 0 : n.get();
  }

  public void resetStats() {
    calls.clear();
  }

  // --- objects: what the HTTP front end needs ------------------------------------------------

  /** What a write sets besides the content. */
  record WriteOptions(
      String contentType,
      String contentEncoding,
      Map<String, String> metadata,
      GcsPreconditions preconditions) {}

  /** Content written to a temporary file, with its size and hashes. */
  record Staged(Path file, long size, byte[] md5, int crc32c) {}

  /** An open live object: its metadata and a channel on its content. */
  record Opened(GcsObject object, FileChannel channel) {}

  /** Copies {@code in} to a new temporary file, hashing as it goes. */
  Staged stage(InputStream in) throws IOException {
    Path file = tmp.resolve("s" + fileSeq.incrementAndGet());
    MessageDigest md5 = md5();
    CRC32C crc = new CRC32C();
    long size = 0;
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW)) {
      byte[] buf = new byte[BUFFER];
      int n;
      while ((n = in.read(buf)) > 0) {
        md5.update(buf, 0, n);
        crc.update(buf, 0, n);
        out.write(buf, 0, n);
        size += n;
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
    return new Staged(file, size, md5.digest(), (int) crc.getValue());
  }

  /** A new temporary file to append to (resumable uploads); hash it with {@link #staged}. */
  Path newTempFile() throws IOException {
    Path file = tmp.resolve("r" + fileSeq.incrementAndGet());
    Files.createFile(file);
    return file;
  }

  /** Hashes a complete temporary file. */
  static Staged staged(Path file) throws IOException {
    MessageDigest md5 = md5();
    CRC32C crc = new CRC32C();
    long size = 0;
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[BUFFER];
      int n;
      while ((n = in.read(buf)) > 0) {
        md5.update(buf, 0, n);
        crc.update(buf, 0, n);
        size += n;
      }
    }
    return new Staged(file, size, md5.digest(), (int) crc.getValue());
  }

  /**
   * Makes the staged content the live object if the preconditions hold; the temporary file is
   * moved or deleted either way.
   */
  GcsObject commit(String bucket, String name, Staged s, WriteOptions o) throws IOException {
    try {
      checkName(name);
      Bucket b = bucket(bucket);
      synchronized (b) {
        GcsObject current = b.objects.get(name);
        o.preconditions().check(current);
        Path blob = blobs.resolve("b" + fileSeq.incrementAndGet());
        Files.move(s.file(), blob, StandardCopyOption.ATOMIC_MOVE);
        Instant now = now();
        GcsObject obj =
            new GcsObject(
                bucket, name, nextGeneration(), 1, s.size(),
                o.contentType() == null ? "application/octet-stream" : o.contentType(),
                o.contentEncoding(), s.md5(), s.crc32c(), now, now, o.metadata(), blob);
        b.objects.put(name, obj);
        if (current != null) {
          Files.deleteIfExists(current.blob());
        }
        return obj;
      }
    } finally {
      Files.deleteIfExists(s.file());
    }
  }

  /**
   * Opens the live object (or the given generation of it: {@code 404} if that is not the live
   * one). The channel is opened under the bucket's lock, so a concurrent overwrite cannot remove
   * the file between lookup and open.
   */
  Opened open(String bucket, String name, Long generation) throws IOException {
    Bucket b = bucket(bucket);
    synchronized (b) {
      GcsObject o = b.objects.get(name);
      if (o == null || (generation != null && generation != o.generation())) {
        throw GcsException.noSuchObject(bucket, name);
      }
      return new Opened(o, FileChannel.open(o.blob(), StandardOpenOption.READ));
    }
  }

  GcsObject get(String bucket, String name) {
    return getObject(bucket, name).orElseThrow(() -> GcsException.noSuchObject(bucket, name));
  }

  void deleteObject(String bucket, String name, GcsPreconditions pre) throws IOException {
    Bucket b = bucket(bucket);
    synchronized (b) {
      GcsObject current = b.objects.get(name);
      if (current == null) {
        throw GcsException.noSuchObject(bucket, name);
      }
      pre.check(current);
      b.objects.remove(name);
      Files.deleteIfExists(current.blob());
    }
  }

  /** Replaces the object's user metadata (a new metageneration). */
  GcsObject updateMetadata(String bucket, String name, Map<String, String> metadata, GcsPreconditions pre) {
    Bucket b = bucket(bucket);
    synchronized (b) {
      GcsObject current = b.objects.get(name);
      if (current == null) {
        throw GcsException.noSuchObject(bucket, name);
      }
      pre.check(current);
      GcsObject updated = current.withMetadata(metadata, now());
      b.objects.put(name, updated);
      return updated;
    }
  }

  /**
   * Copies the live source object (or {@code sourceGeneration} of it) to the destination, with
   * the source's metadata unless {@code options} give a content type or metadata.
   */
  GcsObject copy(
      String srcBucket, String srcName, Long sourceGeneration, String dstBucket, String dstName,
      WriteOptions options) throws IOException {
    bucket(dstBucket);
    GcsObject src;
    Path file = tmp.resolve("c" + fileSeq.incrementAndGet());
    Bucket sb = bucket(srcBucket);
    synchronized (sb) {
      src = sb.objects.get(srcName);
      if (src == null || (sourceGeneration != null && sourceGeneration != src.generation())) {
        throw GcsException.noSuchObject(srcBucket, srcName);
      }
      link(src.blob(), file);
    }
    WriteOptions o =
        new WriteOptions(
            options.contentType() != null ? options.contentType() : src.contentType(),
            options.contentEncoding() != null ? options.contentEncoding() : src.contentEncoding(),
            options.metadata().isEmpty() ? src.metadata() : options.metadata(),
            options.preconditions());
    return commit(dstBucket, dstName, new Staged(file, src.size(), src.md5(), src.crc32c()), o);
  }

  /** Concatenates the sources (live generations, or the given ones) into the destination. */
  GcsObject compose(
      String bucket, List<String> sources, List<Long> generations, String dstName, WriteOptions o)
      throws IOException {
    if (sources.isEmpty() || sources.size() > 32) {
      throw GcsException.invalid("The number of source components provided (" + sources.size()
          + ") must be between 1 and 32.");
    }
    Path file = tmp.resolve("k" + fileSeq.incrementAndGet());
    MessageDigest md5 = md5();
    CRC32C crc = new CRC32C();
    long size = 0;
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW)) {
      byte[] buf = new byte[BUFFER];
      for (int i = 0; i < sources.size(); i++) {
        try (InputStream in =
            Channels.newInputStream(open(bucket, sources.get(i), generations.get(i)).channel())) {
          int n;
          while ((n = in.read(buf)) > 0) {
            md5.update(buf, 0, n);
            crc.update(buf, 0, n);
            out.write(buf, 0, n);
            size += n;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
    return commit(bucket, dstName, new Staged(file, size, md5.digest(), (int) crc.getValue()), o);
  }

  /** One page of a listing, as {@code objects.list} returns it. */
  record Page(List<GcsObject> items, List<String> prefixes, String nextPageToken) {}

  /**
   * Lists names starting with {@code prefix} after the page token, folding names that contain
   * {@code delimiter} after the prefix into prefixes; items and prefixes together fill at most
   * {@code max} entries.
   */
  Page list(String bucket, String prefix, String delimiter, String pageToken, int max) {
    String p = prefix == null ? "" : prefix;
    String after = pageToken == null ? null : decodeToken(pageToken);
    Bucket b = bucket(bucket);
    List<GcsObject> items = new ArrayList<>();
    TreeSet<String> prefixes = new TreeSet<>();
    String last = null;
    synchronized (b) {
      NavigableMap<String, GcsObject> range = b.objects.subMap(p, true, p + Character.MAX_VALUE, false);
      if (after != null) {
        range = range.tailMap(after, false);
      }
      for (Map.Entry<String, GcsObject> e : range.entrySet()) {
        String name = e.getKey();
        if (after != null && name.compareTo(after) <= 0) {
          continue; // inside a prefix already returned
        }
        if (items.size() + prefixes.size() >= max) {
          return new Page(items, List.copyOf(prefixes), encodeToken(last));
        }
        int cut = delimiter == null || delimiter.isEmpty() ? -1 : name.indexOf(delimiter, p.length());
        if (cut >= 0) {
          String folded = name.substring(0, cut + delimiter.length());
          prefixes.add(folded);
          last = folded + Character.MAX_VALUE;
          after = last;
        } else {
          items.add(e.getValue());
          last = name;
        }
      }
    }
    return new Page(items, List.copyOf(prefixes), null);
  }

  private static String encodeToken(String name) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static String decodeToken(String token) {
    try {
      return new String(Base64.getUrlDecoder().decode(token), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw GcsException.invalid("Invalid page token: '" + token + "'");
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  Bucket bucket(String name) {
    Bucket b = buckets.get(name);
    if (b == null) {
      throw GcsException.noSuchBucket(name);
    }
    return b;
  }

  private static void checkName(String name) {
    if (name == null || name.isEmpty() || name.length() > 1024 || name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0) {
      throw GcsException.invalid("Invalid object name: '" + name + "'");
    }
  }

  /** A hard link shares the immutable blob; a copy where links are not supported. */
  private static void link(Path blob, Path file) throws IOException {
    try {
      Files.createLink(file, blob);
    } catch (IOException | UnsupportedOperationException e) {
      Files.copy(blob, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private long nextGeneration() {
    long micros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
    return lastGeneration.updateAndGet(last -> Math.max(last + 1, micros));
  }

  private static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MILLIS);
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
