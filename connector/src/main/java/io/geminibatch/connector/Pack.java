package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Requests on their way to a shard, many to an element: their JSONL lines ({@code
 * {"key":K,"request":R}\n}, exactly as they will be staged) back to back in one array, with each
 * line's end, its key's fingerprint and its hash (both 128 bits, MurmurHash3). Moving a million
 * requests as a few thousand packs makes every exchange between steps a copy of large arrays
 * instead of a million small encodings, and staging a pack a single write.
 *
 * <p>All requests of a pack share a {@link #bucket} (from their key's fingerprint, so that all
 * lines of a key meet in one pack stream) and an {@link #attempt}.
 */
final class Pack {
  /** Key buckets: a shard is a run of whole buckets, or a part of one very large bucket. */
  static final int BUCKETS = 1024;
  /** A pack is sent on once its lines reach this size. */
  static final int TARGET_BYTES = 1 << 20;
  private static final byte[] KEY_PREFIX = Json.utf8("{\"key\":");
  private static final byte[] REQUEST_PREFIX = Json.utf8(",\"request\":");
  private static final byte[] LINE_END = Json.utf8("}\n");

  final int bucket;
  /** The attempt (1-based) the next job of these requests is. */
  final int attempt;
  /** In how many shards the bucket's group is split (set when groups are assigned). */
  final int parts;
  final int count;
  /** The lines, in {@code lines[0, size)} (the array may be longer: it is never copied to fit). */
  final byte[] lines;
  final int size;
  /** End offset of each line in {@link #lines}. */
  final int[] ends;
  /** Per line: key fingerprint (2 longs), then line hash (2 longs). */
  final long[] hashes;
  /**
   * Inputs that could not be sent, riding with the packs to the stage step, which hands them to
   * the failures: so the pack step has one output (see {@link JobEvent} for why that matters).
   */
  final List<GenerateFailure> failures;
  /**
   * For a spilled pack (see {@link PackSpill}): the file in the staging location that holds its
   * encoding, at {@link #spillOffset} for {@link #spillLength} bytes; its arrays are then null
   * until {@link #load}. Null for a pack that carries its lines.
   */
  final String spillPath;
  final long spillOffset;
  final int spillLength;

  private Pack(
      int bucket, int attempt, int parts, int count, byte[] lines, int size, int[] ends, long[] hashes,
      List<GenerateFailure> failures) {
    this(bucket, attempt, parts, count, lines, size, ends, hashes, failures, null, 0, 0);
  }

  private Pack(
      int bucket, int attempt, int parts, int count, byte[] lines, int size, int[] ends, long[] hashes,
      List<GenerateFailure> failures, String spillPath, long spillOffset, int spillLength) {
    this.bucket = bucket;
    this.attempt = attempt;
    this.parts = parts;
    this.count = count;
    this.lines = lines;
    this.size = size;
    this.ends = ends;
    this.hashes = hashes;
    this.failures = failures;
    this.spillPath = spillPath;
    this.spillOffset = spillOffset;
    this.spillLength = spillLength;
  }

  Pack withParts(int parts) {
    return new Pack(
        bucket, attempt, parts, count, lines, size, ends, hashes, failures, spillPath, spillOffset, spillLength);
  }

  boolean isSpilled() {
    return spillPath != null;
  }

  /** What stands for this pack once its encoding is at {@code offset} in {@code path}. */
  Pack spilledTo(String path, long offset, int length) {
    return new Pack(bucket, attempt, parts, count, null, size, null, null, List.of(), path, offset, length);
  }

  /**
   * The pack with its lines: itself, or its encoding read back from where it was spilled. A pack
   * read back holds its lines in an array of {@code reader}'s, filled again by its next load: use
   * it before loading the next.
   */
  Pack load(PackSpill.Reader reader) throws IOException {
    if (spillPath == null) {
      return this;
    }
    byte[] encoding = reader.read(spillPath, spillOffset, spillLength);
    Pack p = PackCoder.decode(new java.io.ByteArrayInputStream(encoding, 0, spillLength), reader::linesArray);
    return p.withParts(parts);
  }

  /** A pack of no requests, carrying one failure. */
  static Pack of(GenerateFailure failure) {
    return new Pack(0, 1, 1, 0, new byte[0], 0, new int[0], new long[0], List.of(failure));
  }

  int lineStart(int i) {
    return i == 0 ? 0 : ends[i - 1];
  }

  long keyA(int i) {
    return hashes[4 * i];
  }

  long keyB(int i) {
    return hashes[4 * i + 1];
  }

  long lineA(int i) {
    return hashes[4 * i + 2];
  }

  long lineB(int i) {
    return hashes[4 * i + 3];
  }

  /** One request's line and hashes, computed once, before it is put in a pack. */
  static final class Line {
    final byte[] quotedKey;
    final byte[] request;
    final long keyA;
    final long keyB;
    final long lineA;
    final long lineB;

    Line(String key, byte[] request) {
      this.quotedKey = Json.quoteUtf8(key);
      this.request = request;
      long[] h = new long[2];
      Hash128.hash(quotedKey, 0, quotedKey.length, 0, h);
      this.keyA = h[0];
      this.keyB = h[1];
      // The line's hash: the request's, seeded with the key's (so it names both).
      Hash128.hash(request, 0, request.length, keyA ^ keyB, h);
      this.lineA = h[0];
      this.lineB = h[1];
    }

    int bucket() {
      return Math.floorMod(keyA, BUCKETS);
    }

    int length() {
      return KEY_PREFIX.length + quotedKey.length + REQUEST_PREFIX.length + request.length + LINE_END.length;
    }
  }

  /** Collects lines into a pack. */
  static final class Builder {
    final int bucket;
    final int attempt;
    private byte[] lines;
    private int bytes;
    private int[] ends = new int[16];
    private long[] hashes = new long[64];
    private int count;

    /** {@code capacity}: the bytes of lines it is expected to hold (it grows past them). */
    Builder(int bucket, int attempt, int capacity) {
      this(bucket, attempt, new byte[capacity]);
    }

    /** Fills {@code buffer} (a recycled one: its contents do not matter), growing past it. */
    Builder(int bucket, int attempt, byte[] buffer) {
      this.bucket = bucket;
      this.attempt = attempt;
      this.lines = buffer;
    }

    void add(Line line) {
      int length = line.length();
      if (bytes + length > lines.length) {
        lines = Arrays.copyOf(lines, Math.max(bytes + length, lines.length * 2));
      }
      bytes = put(line.request, put(REQUEST_PREFIX, put(line.quotedKey, put(KEY_PREFIX, bytes))));
      bytes = put(LINE_END, bytes);
      if (count == ends.length) {
        ends = Arrays.copyOf(ends, count * 2);
        hashes = Arrays.copyOf(hashes, count * 8);
      }
      ends[count] = bytes;
      hashes[4 * count] = line.keyA;
      hashes[4 * count + 1] = line.keyB;
      hashes[4 * count + 2] = line.lineA;
      hashes[4 * count + 3] = line.lineB;
      count++;
    }

    private int put(byte[] part, int at) {
      System.arraycopy(part, 0, lines, at, part.length);
      return at + part.length;
    }

    int bytes() {
      return bytes;
    }

    boolean isEmpty() {
      return count == 0;
    }

    /** The pack; the builder must not be used after. */
    Pack build() {
      return new Pack(bucket, attempt, 1, count, lines, bytes, ends, hashes, List.of());
    }
  }

  /** Deterministic coder: the arrays as they are. */
  static final class PackCoder extends ElementCoder<Pack> {
    static final PackCoder INSTANCE = new PackCoder();
    private static final int IN_MEMORY = 0;
    private static final int SPILLED = 1;

    @Override
    public void encode(Pack p, OutputStream out) throws IOException {
      if (p.spillPath != null) {
        out.write(SPILLED);
        Codec.writeVarInt(p.bucket, out);
        Codec.writeVarInt(p.attempt, out);
        Codec.writeVarInt(p.parts, out);
        Codec.writeVarInt(p.count, out);
        Codec.writeVarInt(p.size, out);
        Codec.writeString(p.spillPath, out);
        Codec.writeVarLong(p.spillOffset, out);
        Codec.writeVarInt(p.spillLength, out);
        return;
      }
      out.write(IN_MEMORY);
      Codec.writeVarInt(p.bucket, out);
      Codec.writeVarInt(p.attempt, out);
      Codec.writeVarInt(p.parts, out);
      Codec.writeVarInt(p.count, out);
      Codec.writeVarInt(p.size, out);
      out.write(p.lines, 0, p.size);
      ByteBuffer meta = ByteBuffer.allocate(p.count * (4 + 32));
      meta.asIntBuffer().put(p.ends, 0, p.count);
      meta.position(p.count * 4);
      meta.asLongBuffer().put(p.hashes, 0, 4 * p.count);
      out.write(meta.array());
      Codec.writeVarInt(p.failures.size(), out);
      for (GenerateFailure f : p.failures) {
        GenerateFailure.FailureCoder.of().encode(f, out);
      }
    }

    @Override
    public Pack decode(InputStream in) throws IOException {
      return decode(in, byte[]::new);
    }

    /**
     * Decodes a pack whose lines go into {@code linesArray.apply(size)} (an array of at least that
     * many bytes, perhaps one used before: the pack's lines are its first {@code size} bytes).
     */
    static Pack decode(InputStream in, java.util.function.IntFunction<byte[]> linesArray) throws IOException {
      int form = in.read();
      if (form == SPILLED) {
        int bucket = Codec.readVarInt(in);
        int attempt = Codec.readVarInt(in);
        int parts = Codec.readVarInt(in);
        int count = Codec.readVarInt(in);
        int size = Codec.readVarInt(in);
        String path = Codec.readString(in);
        long offset = Codec.readVarLong(in);
        int length = Codec.readVarInt(in);
        return new Pack(bucket, attempt, parts, count, null, size, null, null, List.of(), path, offset, length);
      }
      if (form != IN_MEMORY) {
        throw new IOException("not an encoded pack: form " + form);
      }
      int bucket = Codec.readVarInt(in);
      int attempt = Codec.readVarInt(in);
      int parts = Codec.readVarInt(in);
      int count = Codec.readVarInt(in);
      int size = Codec.readVarInt(in);
      byte[] lines = linesArray.apply(size);
      Codec.readFully(in, lines, size);
      ByteBuffer meta = ByteBuffer.wrap(Codec.readFully(in, count * (4 + 32)));
      int[] ends = new int[count];
      meta.asIntBuffer().get(ends);
      meta.position(count * 4);
      long[] hashes = new long[4 * count];
      meta.asLongBuffer().get(hashes);
      int n = Codec.readVarInt(in);
      List<GenerateFailure> failures = n == 0 ? List.of() : new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        failures.add(GenerateFailure.FailureCoder.of().decode(in));
      }
      return new Pack(bucket, attempt, parts, count, lines, size, ends, hashes, failures);
    }
  }
}
