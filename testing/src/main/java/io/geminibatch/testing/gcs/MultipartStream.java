package io.geminibatch.testing.gcs;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a MIME multipart body ({@code multipart/related} uploads, {@code multipart/mixed} batches)
 * part by part, streaming: a part's body is an {@link InputStream} that ends at the next
 * delimiter, so an upload's media part goes to disk without being held in memory.
 */
final class MultipartStream {
  private final PushbackInputStream in;
  private final byte[] delimiter;
  private boolean done;
  /** True right after a part's body ended on the delimiter (already consumed). */
  private boolean atDelimiter;

  MultipartStream(InputStream body, String boundary) {
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    // A leading CRLF lets the first boundary match the same delimiter as the others.
    this.in =
        new PushbackInputStream(
            new SequenceInputStream(
                new ByteArrayInputStream(new byte[] {'\r', '\n'}), new BufferedInputStream(body)),
            delimiter.length);
  }

  /** The boundary parameter of a multipart Content-Type, or null. */
  static String boundary(String contentType) {
    if (contentType == null) {
      return null;
    }
    for (String param : contentType.split(";")) {
      String p = param.trim();
      if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
        String b = p.substring("boundary=".length());
        return b.startsWith("\"") && b.endsWith("\"") && b.length() > 1 ? b.substring(1, b.length() - 1) : b;
      }
    }
    return null;
  }

  /**
   * Advances to the next part and returns its headers (lower-case names), or null after the
   * closing delimiter. The rest of the previous part's body, if any, is skipped.
   */
  Map<String, String> nextPart() throws IOException {
    if (done) {
      return null;
    }
    if (!atDelimiter && !skipToDelimiter()) {
      throw new EOFException("multipart body has no boundary");
    }
    atDelimiter = false;
    int a = in.read();
    int b = in.read();
    if (a == '-' && b == '-') {
      done = true;
      return null;
    }
    // Transport padding, then CRLF.
    while (a == ' ' || a == '\t') {
      a = b;
      b = in.read();
    }
    if (a != '\r' || b != '\n') {
      throw new IOException("malformed multipart boundary line");
    }
    Map<String, String> headers = new TreeMap<>();
    String line;
    while (!(line = readLine(in)).isEmpty()) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
      }
    }
    return headers;
  }

  /** The current part's body, up to (not including) the next delimiter. */
  InputStream body() {
    return new InputStream() {
      private boolean ended;

      @Override
      public int read() throws IOException {
        if (ended) {
          return -1;
        }
        int c = in.read();
        if (c < 0) {
          throw new EOFException("multipart body ended before its closing boundary");
        }
        if (c == delimiter[0] && atDelimiterRest()) {
          ended = true;
          atDelimiter = true;
          return -1;
        }
        return c;
      }

      @Override
      public int read(byte[] buf, int off, int len) throws IOException {
        int n = 0;
        while (n < len) {
          int c = read();
          if (c < 0) {
            return n == 0 ? -1 : n;
          }
          buf[off + n++] = (byte) c;
          if (in.available() == 0 && n > 0) {
            break; // do not block for more than what has arrived
          }
        }
        return n;
      }
    };
  }

  /** After the delimiter's first byte was read: consumes the rest if it follows, else nothing. */
  private boolean atDelimiterRest() throws IOException {
    byte[] look = new byte[delimiter.length - 1];
    int n = 0;
    while (n < look.length) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      look[n++] = (byte) c;
      if (look[n - 1] != delimiter[n]) {
        break;
      }
    }
    if (n == look.length && look[n - 1] == delimiter[n]) {
      return true;
    }
    in.unread(look, 0, n);
    return false;
  }

  /** Reads and drops bytes up to and including the next delimiter; false at end of stream. */
  private boolean skipToDelimiter() throws IOException {
    int c;
    while ((c = in.read()) >= 0) {
      if (c == delimiter[0] && atDelimiterRest()) {
        return true;
      }
    }
    return false;
  }

  static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      line.write(c);
    }
    if (c < 0 && line.size() == 0) {
      throw new EOFException("multipart headers ended early");
    }
    String s = line.toString(StandardCharsets.UTF_8);
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }
}
