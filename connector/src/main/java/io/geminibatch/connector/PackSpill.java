package io.geminibatch.connector;

import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Packs written to the staging location before the shuffle, so that the shuffle moves a few
 * bytes per pack instead of its lines. A bundle's large packs go one after another into one file
 * under {@code packs/<expansion>/r<round>/} of the staging location; what travels on is a spilled {@link Pack}
 * (where its encoding is, and its counts), which the stage step {@link Pack#load loads}. The
 * shard a pack ends in still depends only on the set of requests (the pack's bucket and the
 * measured sizes), and the file a spilled pack names is complete before the pack is emitted:
 * its bundle closes it first. The files of a round are deleted once the round is staged.
 */
final class PackSpill {
  /** A bundle spills its packs once it holds this many bytes of lines; smaller bundles do not. */
  static final int SPILL_FROM_BYTES = 256 * 1024;

  private PackSpill() {}

  /**
   * The directory of a round's spilled packs: one per application of the transform (a pipeline
   * that fails leaves its directory behind; nothing else reads or deletes it).
   */
  static String dir(BatchSettings settings, int round) {
    return settings.stagingDir + "packs/" + settings.expansionId + "/r" + round + "/";
  }

  /** Appends packs to one new file; the file is complete once {@link #close} returns. */
  static final class Writer implements AutoCloseable {
    final String path;
    private final Counting out;

    Writer(String dir) throws IOException {
      this.path = dir + UUID.randomUUID() + ".packs";
      this.out = new Counting(new BufferedOutputStream(Staging.create(path), 1 << 20));
    }

    /** Writes {@code pack} and returns what stands for it. */
    Pack write(Pack pack) throws IOException {
      long offset = out.count;
      Pack.PackCoder.INSTANCE.encode(pack, out);
      return pack.spilledTo(path, offset, (int) (out.count - offset));
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }

  /**
   * Reads spilled packs, keeping each file it opened open until {@link #close}. It reads into
   * arrays of its own, filled again by each read: loading a pack allocates only its small arrays
   * (ends and hashes), where it used to allocate its encoding and then its lines, twice the bytes
   * staged (584 MB at 300,000 prompts of 1 KB).
   */
  static final class Reader implements AutoCloseable {
    private final Map<String, ReadableByteChannel> open = new HashMap<>();
    private final Map<String, Long> positions = new HashMap<>();
    private byte[] encoding = new byte[0];
    private byte[] lines = new byte[0];

    /**
     * The {@code length} bytes at {@code offset} of {@code path}, at the start of an array of the
     * reader's that the next read fills again.
     */
    byte[] read(String path, long offset, int length) throws IOException {
      ReadableByteChannel ch = open.get(path);
      if (ch == null) {
        ch = Staging.openChannel(path);
        open.put(path, ch);
        positions.put(path, 0L);
      }
      long at = positions.get(path);
      if (ch instanceof SeekableByteChannel) {
        ((SeekableByteChannel) ch).position(offset);
      } else if (offset >= at) {
        skip(ch, offset - at);
      } else {
        ch.close();
        ch = Staging.openChannel(path);
        open.put(path, ch);
        skip(ch, offset);
      }
      if (encoding.length < length) {
        encoding = new byte[length];
      }
      byte[] b = encoding;
      ByteBuffer buf = ByteBuffer.wrap(b, 0, length);
      while (buf.hasRemaining()) {
        if (ch.read(buf) < 0) {
          throw new EOFException(
              "spilled pack file " + path + " ends before byte " + (offset + length) + " (at " + (offset + buf.position()) + ")");
        }
      }
      positions.put(path, offset + length);
      return b;
    }

    /** An array of at least {@code bytes} for a loaded pack's lines: the same one while it is large enough. */
    byte[] linesArray(int bytes) {
      if (lines.length < bytes) {
        lines = new byte[bytes];
      }
      return lines;
    }

    private static void skip(ReadableByteChannel ch, long n) throws IOException {
      InputStream in = Channels.newInputStream(ch);
      long left = n;
      while (left > 0) {
        long s = in.skip(left);
        if (s <= 0) {
          if (in.read() < 0) {
            throw new EOFException("spilled pack file ends early");
          }
          s = 1;
        }
        left -= s;
      }
    }

    @Override
    public void close() throws IOException {
      IOException first = null;
      for (ReadableByteChannel ch : open.values()) {
        try {
          ch.close();
        } catch (IOException e) {
          if (first == null) {
            first = e;
          }
        }
      }
      open.clear();
      positions.clear();
      if (first != null) {
        throw first;
      }
    }
  }

  private static final class Counting extends OutputStream {
    private final OutputStream out;
    long count;

    Counting(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}
