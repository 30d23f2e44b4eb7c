package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads a staged shard back line by line: each line's key and the byte range of its request,
 * without copying or re-serialising the request.
 */
final class ShardLines implements AutoCloseable {
  /** Lines of a staged shard are at most a request plus its key. */
  static final int MAX_LINE_BYTES = 64 * 1024 * 1024;

  private final LineReader lines;
  private long index = -1;
  private String key;
  private int requestStart;
  private int requestEnd;

  ShardLines(String stagedPath) throws IOException {
    this(new LineReader(Staging.open(stagedPath), MAX_LINE_BYTES));
  }

  private ShardLines(LineReader lines) {
    this.lines = lines;
  }

  /** Moves to the next line; false at the end. */
  boolean next() throws IOException {
    if (!lines.next()) {
      return false;
    }
    index++;
    byte[] buf = lines.buffer();
    int off = lines.start();
    try (JsonParser p = Json.FACTORY.createParser(buf, off, lines.length())) {
      key = null;
      requestStart = -1;
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("staged line " + index + " is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("key")) {
          key = p.getText();
        } else if (field.equals("request")) {
          requestStart = off + (int) p.currentTokenLocation().getByteOffset();
          p.skipChildren();
          requestEnd = off + (int) p.currentLocation().getByteOffset();
        } else {
          p.skipChildren();
        }
      }
    }
    if (key == null || requestStart < 0) {
      throw new IOException("staged line " + index + " lacks its key or request");
    }
    return true;
  }

  /** The key and request (as text) of one staged line {@code buf[off, off + len)}. */
  static String[] keyAndRequest(byte[] buf, int off, int len) throws IOException {
    try (ShardLines one = new ShardLines(new LineReader(new java.io.ByteArrayInputStream(buf, off, len), MAX_LINE_BYTES))) {
      if (!one.next()) {
        throw new IOException("a staged line is blank");
      }
      return new String[] {one.key(), one.requestJson()};
    }
  }

  /** Index of the current line, from 0. */
  long index() {
    return index;
  }

  String key() {
    return key;
  }

  byte[] buffer() {
    return lines.buffer();
  }

  /** Where the current line starts in {@link #buffer}. */
  int lineStart() {
    return lines.start();
  }

  /** The current line's length, without its line break. */
  int lineLength() {
    return lines.length();
  }

  int requestStart() {
    return requestStart;
  }

  int requestEnd() {
    return requestEnd;
  }

  byte[] requestBytes() {
    return java.util.Arrays.copyOfRange(lines.buffer(), requestStart, requestEnd);
  }

  String requestJson() {
    return new String(lines.buffer(), requestStart, requestEnd - requestStart, StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws IOException {
    lines.close();
  }
}
