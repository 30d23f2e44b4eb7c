package io.geminibatch.pipelines;

import java.io.Serializable;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.io.BoundedSource;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * Splits an input file into ranges of whole lines that several workers read at once, each
 * knowing the number of its first line, so that lines keep the keys a single reader gives them.
 * One pass over the file finds the split points (after a newline, about every range's size) and
 * counts the lines before each, as {@code BufferedReader} counts them ({@code \n}, {@code \r} and
 * {@code \r\n} each end a line). Compressed files are one range.
 *
 * <p>The ranges are a bounded source ({@link Source}), not a step after a file match: a runner
 * splits a source before its workers start and hands the splits out as workers ask for them
 * (Flink's batch mode does), so a worker done early takes the next range, and the read needs no
 * match step and no shuffle to spread the ranges.
 */
final class FileRanges {
  /** The largest range. */
  static final long RANGE_BYTES = 64L << 20;
  /** The smallest range a source splits into unless told a size ({@link Source#rangeBytes}). */
  static final long MIN_RANGE_BYTES = 1L << 20;
  /** Ranges per worker's share of the input: a worker done early takes another. */
  static final int RANGES_PER_SPLIT = 4;

  private FileRanges() {}

  /** Bytes {@code [start, end)} of a file, whose first line is line number {@code firstLine}. */
  static final class Range implements Serializable {
    private static final long serialVersionUID = 1L;
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

    /** Its lines (decompressed when the file is compressed and read whole). */
    Utf8Lines open() throws IOException {
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

    private static Utf8Lines reader(InputStream in) {
      return new Utf8Lines(in);
    }
  }

  /**
   * Splits a file into ranges of about {@code rangeBytes}; a file no larger than that, a
   * compressed one, or one that cannot be read from an offset is one range.
   */
  static List<Range> split(MatchResult.Metadata file, long rangeBytes) throws IOException {
    String name = file.resourceId().toString();
    if (file.sizeBytes() <= rangeBytes
        || Compression.detect(name) != Compression.UNCOMPRESSED
        || !file.isReadSeekEfficient()) {
      return List.of(new Range(name, 0, -1, 1));
    }
    List<Range> ranges = new ArrayList<>();
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
          if (!afterCr && i + 8 <= n && Utf8Lines.lineEnds((long) LONGS.get(b, i)) == 0) {
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
              ranges.add(new Range(name, start, next, firstLine));
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
      ranges.add(new Range(name, start, position, firstLine));
    }
    return ranges;
  }

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /**
   * The ranges of every file matching a pattern, one range per split, each read as one element;
   * the step after it reads the range's lines. Split into ranges of a quarter of the size the
   * runner asks for ({@link #RANGES_PER_SPLIT}), between {@value #MIN_RANGE_BYTES} and {@value
   * #RANGE_BYTES} bytes, unless a size is given. The line counting pass is made once per file and
   * range size in a JVM ({@link #CACHE}): the requests' and the failures' sources split the same
   * files.
   */
  static final class Source extends BoundedSource<Range> {
    private static final long serialVersionUID = 1L;
    private final String filepattern;
    /** 0: from the size the runner asks for. */
    private final long fixedRangeBytes;
    /** One split's range; null before splitting. */
    private final Range range;
    private final long rangeSizeBytes;
    private transient List<MatchResult.Metadata> matched;

    Source(String filepattern, long fixedRangeBytes) {
      this(filepattern, fixedRangeBytes, null, 0);
    }

    private Source(String filepattern, long fixedRangeBytes, Range range, long rangeSizeBytes) {
      this.filepattern = filepattern;
      this.fixedRangeBytes = fixedRangeBytes;
      this.range = range;
      this.rangeSizeBytes = rangeSizeBytes;
    }

    /** The size of the ranges a split asking for {@code desiredBundleSizeBytes} gets. */
    long rangeBytes(long desiredBundleSizeBytes) {
      if (fixedRangeBytes > 0) {
        return fixedRangeBytes;
      }
      return Math.max(MIN_RANGE_BYTES, Math.min(RANGE_BYTES, desiredBundleSizeBytes / RANGES_PER_SPLIT));
    }

    @Override
    public List<Source> split(long desiredBundleSizeBytes, PipelineOptions options) throws IOException {
      if (range != null) {
        return List.of(this);
      }
      long rangeBytes = rangeBytes(desiredBundleSizeBytes);
      List<MatchResult.Metadata> files = match();
      List<List<Range>> ranges = splitAll(files, rangeBytes);
      List<Source> splits = new ArrayList<>();
      for (int f = 0; f < files.size(); f++) {
        for (Range r : ranges.get(f)) {
          splits.add(new Source(filepattern, fixedRangeBytes, r, r.whole() ? files.get(f).sizeBytes() : r.end - r.start));
        }
      }
      return splits;
    }

    @Override
    public long getEstimatedSizeBytes(PipelineOptions options) throws IOException {
      if (range != null) {
        return rangeSizeBytes;
      }
      long bytes = 0;
      for (MatchResult.Metadata file : match()) {
        bytes += file.sizeBytes();
      }
      return bytes;
    }

    private List<MatchResult.Metadata> match() throws IOException {
      if (matched == null) {
        MatchResult result = FileSystems.match(filepattern, EmptyMatchTreatment.ALLOW);
        if (result.status() != MatchResult.Status.OK || result.metadata().isEmpty()) {
          throw new FileNotFoundException("no file matches " + filepattern);
        }
        matched = result.metadata();
      }
      return matched;
    }

    @Override
    public Coder<Range> getOutputCoder() {
      return RangeCoder.INSTANCE;
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder.add(DisplayData.item("filePattern", filepattern).withLabel("Input files"));
    }

    @Override
    public BoundedReader<Range> createReader(PipelineOptions options) throws IOException {
      List<Source> ranges = range != null ? List.of(this) : split(RANGE_BYTES * RANGES_PER_SPLIT, options);
      return new BoundedReader<Range>() {
        private int next;

        @Override
        public boolean start() {
          return advance();
        }

        @Override
        public boolean advance() {
          return ++next <= ranges.size();
        }

        @Override
        public Range getCurrent() {
          if (next < 1 || next > ranges.size()) {
            throw new java.util.NoSuchElementException();
          }
          return ranges.get(next - 1).range;
        }

        @Override
        public void close() {}

        @Override
        public BoundedSource<Range> getCurrentSource() {
          return Source.this;
        }
      };
    }
  }

  /** Split points per file (name, size, time, range size), so that two sources scan a file once. */
  private static final Map<List<Object>, List<Range>> CACHE =
      java.util.Collections.synchronizedMap(
          new java.util.LinkedHashMap<List<Object>, List<Range>>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<List<Object>, List<Range>> eldest) {
              return size() > 256;
            }
          });

  /** Files scanned for their split points at once, at most this many. */
  static final int SCAN_THREADS = 8;

  /**
   * Each file's ranges, in the files' order. Several files are scanned at once: one scan reads a
   * whole file, and where the split runs in one place (Flink's job manager, a Dataflow worker) a
   * glob of large files would otherwise be read one after the other before any work starts.
   */
  static List<List<Range>> splitAll(List<MatchResult.Metadata> files, long rangeBytes) throws IOException {
    List<List<Range>> ranges = new ArrayList<>();
    if (files.size() == 1) {
      ranges.add(cachedSplit(files.get(0), rangeBytes));
      return ranges;
    }
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(
            Math.min(files.size(), SCAN_THREADS),
            r -> {
              Thread t = new Thread(r, "gemini-batch-input-scan");
              t.setDaemon(true);
              return t;
            });
    try {
      List<java.util.concurrent.Future<List<Range>>> scans = new ArrayList<>();
      for (MatchResult.Metadata file : files) {
        scans.add(pool.submit(() -> cachedSplit(file, rangeBytes)));
      }
      for (java.util.concurrent.Future<List<Range>> scan : scans) {
        ranges.add(scan.get());
      }
      return ranges;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while scanning the input files");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      throw new IOException("cannot scan the input files: " + cause, cause);
    } finally {
      pool.shutdownNow();
    }
  }

  static List<Range> cachedSplit(MatchResult.Metadata file, long rangeBytes) throws IOException {
    List<Object> id = List.of(file.resourceId().toString(), file.sizeBytes(), file.lastModifiedMillis(), rangeBytes);
    List<Range> ranges = CACHE.get(id);
    if (ranges == null) {
      ranges = split(file, rangeBytes);
      CACHE.put(id, ranges);
    }
    return ranges;
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
