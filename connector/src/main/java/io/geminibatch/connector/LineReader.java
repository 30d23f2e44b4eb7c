package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;

/**
 * Splits a stream into lines without decoding them: each line is handed out as a slice of an
 * internal buffer ({@link #buffer()}, {@link #start()}, {@link #length()}) valid until the next
 * call. Memory is one buffer as large as the longest line, capped.
 */
final class LineReader implements AutoCloseable {
  private final InputStream in;
  private final int maxLineBytes;
  private byte[] buf = new byte[64 * 1024];
  private int pos;
  private int limit;
  private int lineStart;
  private int lineLength;
  private int searchFrom;
  private boolean eof;
  /** Bytes of the stream before {@code buf[0]}. */
  private long discarded;

  LineReader(InputStream in, int maxLineBytes) {
    this.in = in;
    this.maxLineBytes = maxLineBytes;
  }

  /** Moves to the next line that is not blank; false at the end of the stream. */
  boolean next() throws IOException {
    while (true) {
      int nl = indexOfNewline(buf, searchFrom, limit);
      if (nl >= 0) {
        setLine(pos, nl);
        pos = nl + 1;
        searchFrom = pos;
        if (!isBlank()) {
          return true;
        }
        continue;
      }
      if (eof) {
        if (pos < limit) {
          setLine(pos, limit);
          pos = limit;
          searchFrom = pos;
          return !isBlank();
        }
        return false;
      }
      int scanned = limit - pos;
      fill();
      searchFrom = scanned;
    }
  }

  private static final java.lang.invoke.VarHandle LONGS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;
  private static final long NEWLINES = '\n' * ONES;

  /** The first {@code '\n'} in {@code b[from, to)}, or -1; eight bytes at a time. */
  static int indexOfNewline(byte[] b, int from, int to) {
    int i = from;
    for (int n = to - 7; i < n; i += 8) {
      long x = (long) LONGS.get(b, i) ^ NEWLINES;
      long found = (x - ONES) & ~x & HIGHS;
      if (found != 0) {
        return i + (Long.numberOfTrailingZeros(found) >>> 3);
      }
    }
    for (; i < to; i++) {
      if (b[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  private void setLine(int from, int newline) {
    int end = newline;
    while (end > from && (buf[end - 1] == '\r')) {
      end--;
    }
    lineStart = from;
    lineLength = end - from;
  }

  private boolean isBlank() {
    for (int i = lineStart; i < lineStart + lineLength; i++) {
      byte b = buf[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  private void fill() throws IOException {
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, limit - pos);
      limit -= pos;
      discarded += pos;
      pos = 0;
    }
    if (limit == buf.length) {
      if (buf.length >= maxLineBytes) {
        throw new IOException("a line is longer than " + maxLineBytes + " bytes");
      }
      byte[] bigger = new byte[(int) Math.min((long) buf.length * 2, maxLineBytes)];
      System.arraycopy(buf, 0, bigger, 0, limit);
      buf = bigger;
    }
    int n = in.read(buf, limit, buf.length - limit);
    if (n < 0) {
      eof = true;
    } else {
      limit += n;
    }
  }

  byte[] buffer() {
    return buf;
  }

  int start() {
    return lineStart;
  }

  int length() {
    return lineLength;
  }

  /** Where the current line starts in the stream, in bytes from its first byte. */
  long offset() {
    return discarded + lineStart;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
