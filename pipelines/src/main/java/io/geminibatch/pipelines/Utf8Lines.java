package io.geminibatch.pipelines;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Splits a UTF-8 stream into lines exactly as {@code BufferedReader.readLine} over an {@code
 * InputStreamReader} does ({@code \n}, {@code \r} and {@code \r\n} each end a line; a last line
 * without a terminator is a line; malformed bytes become U+FFFD), but finds the line ends in the
 * bytes, eight at a time, and decodes a line only when asked ({@link #text()}): the input's lines
 * are mostly ASCII, which the JDK decodes with one copy. {@code BufferedReader} is its test
 * oracle ({@code Utf8LinesTest}). Memory is one buffer as large as the longest line.
 */
final class Utf8Lines implements AutoCloseable {
  private final InputStream in;
  private byte[] buf;
  private int pos;
  private int limit;
  /** Where the search for the next line end resumes: the bytes before it hold none. */
  private int searchFrom;
  private boolean eof;
  /** The last line ended with {@code \r}: a {@code \n} right after it belongs to that end. */
  private boolean skipLf;
  private int lineStart;
  private int lineLength;

  Utf8Lines(InputStream in) {
    this(in, 64 << 10);
  }

  /** {@code bufferBytes}: the initial buffer (tests sweep it across the lines' boundaries). */
  Utf8Lines(InputStream in, int bufferBytes) {
    this.in = in;
    this.buf = new byte[Math.max(1, bufferBytes)];
  }

  /** Moves to the next line; false at the end of the stream. */
  boolean next() throws IOException {
    while (true) {
      if (skipLf) {
        if (pos == limit && !eof) {
          fill();
          continue;
        }
        if (pos < limit && buf[pos] == '\n') {
          pos++;
        }
        skipLf = false;
      }
      int from = Math.max(searchFrom, pos);
      int end = indexOfLineEnd(buf, from, limit);
      if (end >= 0) {
        lineStart = pos;
        lineLength = end - pos;
        skipLf = buf[end] == '\r';
        pos = end + 1;
        searchFrom = pos;
        return true;
      }
      if (eof) {
        if (pos < limit) {
          lineStart = pos;
          lineLength = limit - pos;
          pos = limit;
          searchFrom = pos;
          return true;
        }
        return false;
      }
      searchFrom = limit;
      fill();
    }
  }

  /** The current line, decoded. */
  String text() {
    return new String(buf, lineStart, lineLength, StandardCharsets.UTF_8);
  }

  /** The current line's bytes are {@code buffer()[start(), start() + length())}, until {@link #next}. */
  byte[] buffer() {
    return buf;
  }

  int start() {
    return lineStart;
  }

  int length() {
    return lineLength;
  }

  /** Whether the current line is all ASCII (its bytes are then its text's UTF-8, one per char). */
  boolean isAscii() {
    int i = lineStart;
    int end = lineStart + lineLength;
    for (int n = end - 7; i < n; i += 8) {
      if (((long) LONGS.get(buf, i) & 0x8080808080808080L) != 0) {
        return false;
      }
    }
    for (; i < end; i++) {
      if (buf[i] < 0) {
        return false;
      }
    }
    return true;
  }

  private void fill() throws IOException {
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, limit - pos);
      limit -= pos;
      searchFrom -= pos;
      pos = 0;
    }
    if (limit == buf.length) {
      byte[] bigger = new byte[(int) Math.min((long) buf.length * 2, Integer.MAX_VALUE - 16)];
      if (bigger.length == buf.length) {
        throw new IOException("a line is longer than " + buf.length + " bytes");
      }
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

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** The first {@code \r} or {@code \n} in {@code b[from, to)}, or -1. */
  static int indexOfLineEnd(byte[] b, int from, int to) {
    int i = from;
    for (int n = to - 7; i < n; i += 8) {
      long found = lineEnds((long) LONGS.get(b, i));
      if (found != 0) {
        return i + (Long.numberOfTrailingZeros(found) >>> 3);
      }
    }
    for (; i < to; i++) {
      if (b[i] == '\n' || b[i] == '\r') {
        return i;
      }
    }
    return -1;
  }

  /**
   * The high bit of each byte of {@code x} that is {@code \r} or {@code \n} (exact for the lowest
   * such byte, which is all {@link #indexOfLineEnd} uses: a borrow only carries upwards).
   */
  static long lineEnds(long x) {
    long lf = x ^ 0x0a0a0a0a0a0a0a0aL;
    long cr = x ^ 0x0d0d0d0d0d0d0d0dL;
    long ones = 0x0101010101010101L;
    return (((lf - ones) & ~lf) | ((cr - ones) & ~cr)) & 0x8080808080808080L;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
