package io.geminibatch.testing;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads '\n'-separated lines of bytes without decoding them: {@link #next()} exposes each line as
 * a slice ({@link #array}, {@link #offset}, {@link #length}) of an internal buffer, valid until
 * the next call. A trailing '\r' is dropped.
 */
final class LineReader {
  private final InputStream in;
  private final byte[] buf = new byte[1 << 16];
  private int pos;
  private int limit;
  private byte[] long_ = new byte[1 << 12];

  byte[] array;
  int offset;
  int length;

  LineReader(InputStream in) {
    this.in = in;
  }

  /** Advances to the next line; false at the end of the stream. */
  boolean next() throws IOException {
    int carried = 0;
    boolean any = false;
    while (true) {
      if (pos == limit) {
        int n = in.read(buf);
        pos = 0;
        limit = Math.max(n, 0);
        if (n <= 0) {
          if (!any) {
            return false;
          }
          return slice(long_, 0, carried);
        }
      }
      any = true;
      int start = pos;
      int i = Swar.indexOfNewline(buf, start, limit);
      if (i < limit) {
        pos = i + 1;
        if (carried == 0) {
          return slice(buf, start, i - start);
        }
        carried = append(carried, start, i - start);
        return slice(long_, 0, carried);
      }
      carried = append(carried, start, limit - start);
      pos = limit;
    }
  }

  /** True when the current line holds nothing but spaces, tabs and carriage returns. */
  boolean blank() {
    for (int i = offset, end = offset + length; i < end; i++) {
      byte c = array[i];
      if (c != ' ' && c != '\t' && c != '\r') {
        return false;
      }
    }
    return true;
  }

  private int append(int carried, int start, int n) {
    if (carried + n > long_.length) {
      long_ = Arrays.copyOf(long_, Math.max(long_.length * 2, carried + n));
    }
    System.arraycopy(buf, start, long_, carried, n);
    return carried + n;
  }

  private boolean slice(byte[] a, int off, int len) {
    if (len > 0 && a[off + len - 1] == '\r') {
      len--;
    }
    array = a;
    offset = off;
    length = len;
    return true;
  }
}
