package io.geminibatch.connector.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * Translates between the connector's staged lines and Vertex AI's batch prediction rows.
 *
 * <p>In: a staged line {@code {"key": K, "request": R}} becomes {@code {"key": "k-K", "request":
 * R}}: Vertex echoes unknown top-level fields into its rows, but a numeric-looking string such as
 * {@code "000123"} has come back as the number {@code 123}; with the prefix no key looks numeric.
 *
 * <p>Out: the rows of every predictions file of a job, {@code {"key", "status", "processed_time",
 * "request", "response"}} in any order, become the result lines the read step knows, {@code
 * {"key": K, "response": ...}} or {@code {"key": K, "error": {"code", "message"}}}, each key
 * once (the first row wins; later duplicates are dropped). A row whose key is missing or not the
 * connector's becomes an error line without a key, so that its request counts as missing.
 */
final class VertexRows {
  /** Prefixed to every key sent to Vertex AI. */
  static final String KEY_PREFIX = "k-";
  static final int MAX_LINE_BYTES = 1 << 30;
  private static final JsonFactory FACTORY = new JsonFactory();

  private VertexRows() {}

  /** Copies staged lines from {@code in} to {@code out} with their keys prefixed. */
  static void prefixKeys(InputStream in, OutputStream out) throws IOException {
    Lines lines = new Lines(in);
    byte[] line;
    while ((line = lines.next()) != null) {
      String key = null;
      int start = -1;
      int end = -1;
      try (JsonParser p = FACTORY.createParser(line)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw new IOException("a staged line is not a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          p.nextToken();
          if (field.equals("key")) {
            key = p.getValueAsString();
          } else if (field.equals("request")) {
            start = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            end = (int) p.currentLocation().getByteOffset();
          } else {
            p.skipChildren();
          }
        }
      }
      if (key == null || start < 0) {
        throw new IOException("a staged line has no key or no request");
      }
      out.write(KEY_OPEN);
      out.write(quote(KEY_PREFIX + key));
      out.write(REQUEST_FIELD);
      out.write(line, start, end - start);
      out.write('}');
      out.write('\n');
    }
  }

  private static final byte[] KEY_OPEN = "{\"key\":".getBytes(java.nio.charset.StandardCharsets.UTF_8);
  private static final byte[] REQUEST_FIELD = ",\"request\":".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  /** A JSON string literal, quotes included. */
  private static byte[] quote(String s) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length() + 8);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeString(s);
    }
    return out.toByteArray();
  }

  /**
   * The result lines of a job's predictions files, in the order given (sorted by name by the
   * caller, so every read sees the same bytes).
   */
  static InputStream results(Iterator<InputStream> files) {
    return new ResultStream(files);
  }

  /** One row translated, or null for a duplicate. */
  static byte[] translate(byte[] row, Set<String> seen) throws IOException {
    String key = null;
    String status = "";
    int start = -1;
    int end = -1;
    try (JsonParser p = FACTORY.createParser(row)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("key")) {
          key = value == JsonToken.VALUE_STRING ? p.getText() : null;
        } else if (field.equals("status")) {
          status = value == JsonToken.VALUE_STRING ? p.getText() : "";
        } else if (field.equals("response") && value == JsonToken.START_OBJECT) {
          start = (int) p.currentTokenLocation().getByteOffset();
          p.skipChildren();
          end = (int) p.currentLocation().getByteOffset();
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      return errorLine(null, ApiStatus.UNKNOWN, "a prediction row is not valid JSON");
    }
    if (key == null || !key.startsWith(KEY_PREFIX)) {
      return errorLine(null, ApiStatus.UNKNOWN, "a prediction row without the connector's key");
    }
    key = key.substring(KEY_PREFIX.length());
    if (!seen.add(key)) {
      return null;
    }
    if (!status.isEmpty()) {
      return errorLine(key, codeOf(status), status);
    }
    if (start < 0 || end - start <= 2) {
      return errorLine(key, ApiStatus.UNKNOWN, "the prediction row has neither a status nor a response");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(end - start + key.length() + 32);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("key", key);
      g.writeFieldName("response");
      g.writeRawValue(new String(row, start, end - start, java.nio.charset.StandardCharsets.UTF_8));
      g.writeEndObject();
    }
    out.write('\n');
    return out.toByteArray();
  }

  private static byte[] errorLine(String key, int code, String message) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128 + message.length());
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      if (key != null) {
        g.writeStringField("key", key);
      }
      g.writeObjectFieldStart("error");
      g.writeNumberField("code", code);
      g.writeStringField("message", message);
      g.writeEndObject();
      g.writeEndObject();
    }
    out.write('\n');
    return out.toByteArray();
  }

  /**
   * The gRPC code of a failed row's status, {@code "<HTTP reason>: {\"error\": {\"code\": 400,
   * \"status\": \"INVALID_ARGUMENT\", ...}}"}: its status name, else its HTTP code.
   */
  static int codeOf(String status) {
    int brace = status.indexOf('{');
    int http = 0;
    if (brace >= 0) {
      try (JsonParser p = FACTORY.createParser(status.substring(brace))) {
        while (p.nextToken() != null) {
          if (p.currentToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("status") && v == JsonToken.VALUE_STRING) {
              int code = grpcCode(p.getText());
              if (code >= 0) {
                return code;
              }
            } else if (name.equals("code") && v == JsonToken.VALUE_NUMBER_INT) {
              http = p.getIntValue();
            }
          }
        }
      } catch (IOException notJson) {
        // fall back on the reason phrase below
      }
    }
    String reason = brace > 0 ? status.substring(0, brace) : status;
    if (http == 0) {
      http = reason.startsWith("Bad Request") ? 400
          : reason.startsWith("Too Many Requests") ? 429
          : reason.startsWith("Service Unavailable") ? 503
          : reason.startsWith("Internal Server Error") ? 500 : 0;
    }
    switch (http) {
      case 400: return ApiStatus.INVALID_ARGUMENT;
      case 404: return ApiStatus.NOT_FOUND;
      case 429: return ApiStatus.RESOURCE_EXHAUSTED;
      case 500: return ApiStatus.INTERNAL;
      case 503: return ApiStatus.UNAVAILABLE;
      case 504: return ApiStatus.DEADLINE_EXCEEDED;
      default: return ApiStatus.UNKNOWN;
    }
  }

  private static final String[] CODE_NAMES = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
  };

  private static int grpcCode(String name) {
    String n = name.toUpperCase(Locale.ROOT);
    for (int i = 1; i < CODE_NAMES.length; i++) {
      if (CODE_NAMES[i].equals(n)) {
        return i;
      }
    }
    return -1;
  }

  /** Lines of a stream, without their end; blank lines skipped. */
  static final class Lines {
    private final InputStream in;
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int limit;

    Lines(InputStream in) {
      this.in = in;
    }

    byte[] next() throws IOException {
      ByteArrayOutputStream line = null;
      while (true) {
        if (pos == limit) {
          limit = in.read(buf, 0, buf.length);
          pos = 0;
          if (limit <= 0) {
            limit = 0;
            return line == null || line.size() == 0 ? null : line.toByteArray();
          }
        }
        int nl = pos;
        while (nl < limit && buf[nl] != '\n') {
          nl++;
        }
        if (nl < limit) {
          byte[] out;
          if (line == null) {
            out = java.util.Arrays.copyOfRange(buf, pos, nl);
          } else {
            line.write(buf, pos, nl - pos);
            out = line.toByteArray();
          }
          pos = nl + 1;
          if (isBlank(out)) {
            line = null;
            continue;
          }
          return out;
        }
        if (line == null) {
          line = new ByteArrayOutputStream(Math.max(256, (limit - pos) * 2));
        }
        line.write(buf, pos, limit - pos);
        if (line.size() > MAX_LINE_BYTES) {
          throw new IOException("a line is longer than " + MAX_LINE_BYTES + " bytes");
        }
        pos = limit;
      }
    }

    private static boolean isBlank(byte[] b) {
      for (byte c : b) {
        if (c != ' ' && c != '\r' && c != '\t') {
          return false;
        }
      }
      return true;
    }
  }

  /** The translated rows of several files, as one stream. */
  private static final class ResultStream extends InputStream {
    private final Iterator<InputStream> files;
    private final Set<String> seen = new HashSet<>();
    private InputStream current;
    private Lines lines;
    private byte[] out = new byte[0];
    private int at;

    ResultStream(Iterator<InputStream> files) {
      this.files = files;
    }

    private boolean fill() throws IOException {
      while (at == out.length) {
        if (lines == null) {
          if (!files.hasNext()) {
            return false;
          }
          current = files.next();
          lines = new Lines(current);
        }
        byte[] row = lines.next();
        if (row == null) {
          current.close();
          current = null;
          lines = null;
          continue;
        }
        byte[] line = translate(row, seen);
        if (line != null) {
          out = line;
          at = 0;
        }
      }
      return true;
    }

    @Override
    public int read() throws IOException {
      return fill() ? out[at++] & 0xFF : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, out.length - at);
      System.arraycopy(out, at, b, off, n);
      at += n;
      return n;
    }

    @Override
    public void close() throws IOException {
      if (current != null) {
        current.close();
      }
    }
  }
}
