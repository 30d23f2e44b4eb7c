package io.geminibatch.pipelines;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.transforms.DoFn;

/**
 * Splits an input file into ranges of whole lines that several workers read at once, each
 * knowing the number of its first line, so that lines keep the keys a single reader gives them.
 * One pass over the file finds the split points (after a newline, about every {@value
 * #RANGE_BYTES} bytes) and counts the lines before each, as {@link BufferedReader} counts them
 * ({@code \n}, {@code \r} and {@code \r\n} each end a line). Compressed files are one range.
 */
final class FileRanges {
  static final long RANGE_BYTES = 64L << 20;

  private FileRanges() {}

  /** Bytes {@code [start, end)} of a file, whose first line is line number {@code firstLine}. */
  static final class Range {
    final String file;
    final long start;
    final long end;
    final long firstLine;

    Range(String file, long start, long end, long firstLine) {
      this.file = file;
      this.start = start;
      this.end = end;
      this.firstLine = firstLine;
    }

    /** The whole file (compressed files are only read this way). */
    boolean whole() {
      return start == 0 && end < 0;
    }

    /** Its lines, decoded (and decompressed when the file is compressed and read whole). */
    BufferedReader open() throws IOException {
      ResourceId id = FileSystems.matchNewResource(file, false);
      ReadableByteChannel channel = FileSystems.open(id);
      if (whole()) {
        channel = Compression.detect(file).readDecompressed(channel);
        return reader(Channels.newInputStream(channel));
      }
      ((SeekableByteChannel) channel).position(start);
      InputStream in = Channels.newInputStream(channel);
      return reader(new BoundedInputStream(in, end - start));
    }

    private static BufferedReader reader(InputStream in) {
      return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
    }
  }

  /** Splits each matched file into ranges of about {@code rangeBytes} (or keeps it whole). */
  static final class SplitFn extends DoFn<MatchResult.Metadata, Range> {
    private final long rangeBytes;

    SplitFn(long rangeBytes) {
      this.rangeBytes = rangeBytes;
    }

    @ProcessElement
    public void process(@Element MatchResult.Metadata file, OutputReceiver<Range> out) throws IOException {
      String name = file.resourceId().toString();
      if (file.sizeBytes() <= rangeBytes
          || Compression.detect(name) != Compression.UNCOMPRESSED
          || !file.isReadSeekEfficient()) {
        out.output(new Range(name, 0, -1, 1));
        return;
      }
      long start = 0;
      long firstLine = 1;
      long lines = 0;
      long position = 0;
      boolean afterCr = false;
      ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
      try (ReadableByteChannel channel = FileSystems.open(file.resourceId())) {
        for (int n = channel.read(buffer); n >= 0; n = channel.read(buffer)) {
          byte[] b = buffer.array();
          for (int i = 0; i < n; i++) {
            if (!afterCr && i + 8 <= n && !hasLineEnd((long) LONGS.get(b, i))) {
              i += 7; // eight bytes with neither \r nor \n: nothing to count
              continue;
            }
            byte c = b[i];
            if (c == '\n') {
              if (!afterCr) {
                lines++;
              }
              long next = position + i + 1;
              if (next - start >= rangeBytes) {
                out.output(new Range(name, start, next, firstLine));
                start = next;
                firstLine = lines + 1;
              }
            } else if (c == '\r') {
              lines++;
            }
            afterCr = c == '\r';
          }
          position += n;
          buffer.clear();
        }
      }
      if (position > start) {
        out.output(new Range(name, start, position, firstLine));
      }
    }
  }

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** Whether one of eight bytes is {@code \r} or {@code \n} (a zero byte in x ^ pattern). */
  private static boolean hasLineEnd(long x) {
    long lf = x ^ 0x0a0a0a0a0a0a0a0aL;
    long cr = x ^ 0x0d0d0d0d0d0d0d0dL;
    long ones = 0x0101010101010101L;
    return ((((lf - ones) & ~lf) | ((cr - ones) & ~cr)) & 0x8080808080808080L) != 0;
  }

  /** At most {@code limit} bytes of a stream. */
  private static final class BoundedInputStream extends InputStream {
    private final InputStream in;
    private long left;

    BoundedInputStream(InputStream in, long limit) {
      this.in = in;
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  static final class RangeCoder extends CustomCoder<Range> {
    static final RangeCoder INSTANCE = new RangeCoder();

    @Override
    public void encode(Range r, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(r.file, out);
      VarLongCoder.of().encode(r.start, out);
      VarLongCoder.of().encode(r.end + 1, out); // -1 (to the end) as 0: var-longs are unsigned
      VarLongCoder.of().encode(r.firstLine, out);
    }

    @Override
    public Range decode(InputStream in) throws IOException {
      return new Range(
          StringUtf8Coder.of().decode(in),
          VarLongCoder.of().decode(in),
          VarLongCoder.of().decode(in) - 1,
          VarLongCoder.of().decode(in));
    }

    @Override
    public List<? extends org.apache.beam.sdk.coders.Coder<?>> getCoderArguments() {
      return List.of();
    }

    @Override
    public void verifyDeterministic() {}
  }
}
