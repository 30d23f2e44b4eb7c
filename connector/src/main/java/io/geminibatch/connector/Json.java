package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Streaming JSON helpers: no tree is built anywhere on the data path. */
final class Json {
  /** Shared, thread-safe; source snippets kept out of error messages (they can be long). */
  static final JsonFactory FACTORY =
      JsonFactory.builder().disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();

  private Json() {}

  /** {@code s} as a JSON string literal, quotes included. */
  static String quote(String s) {
    return new String(quoteUtf8(s), StandardCharsets.UTF_8);
  }

  /**
   * {@code s} as a JSON string literal in UTF-8, quotes included: the bytes Jackson's generator
   * writes. Text with nothing to escape (most prompts) is copied as it is, without a per-char
   * encoder.
   */
  static byte[] quoteUtf8(String s) {
    byte[] body = needsEscapeOrEncoding(s)
        ? JsonStringEncoder.getInstance().quoteAsUTF8(s)
        : s.getBytes(StandardCharsets.ISO_8859_1);
    byte[] out = new byte[body.length + 2];
    out[0] = '"';
    System.arraycopy(body, 0, out, 1, body.length);
    out[out.length - 1] = '"';
    return out;
  }

  private static boolean needsEscapeOrEncoding(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
        return true;
      }
    }
    return false;
  }

  /** The parts one after the other in one array. */
  static byte[] concat(byte[]... parts) {
    int length = 0;
    for (byte[] p : parts) {
      length += p.length;
    }
    byte[] out = new byte[length];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Reads the value at the parser's current token as a long (numbers or int64 strings). */
  static long longValue(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_NUMBER_INT) {
      return p.getLongValue();
    }
    if (t == JsonToken.VALUE_STRING) {
      try {
        return Long.parseLong(p.getText());
      } catch (NumberFormatException e) {
        return 0;
      }
    }
    p.skipChildren();
    return 0;
  }

  /** Advances past the current object's remaining fields up to its END_OBJECT. */
  static void finishObject(JsonParser p) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      p.nextToken();
      p.skipChildren();
    }
  }

  /** A token's JSON type in words, for messages. */
  static String kindOf(JsonToken t) {
    switch (t) {
      case START_OBJECT:
        return "an object";
      case START_ARRAY:
        return "an array";
      case VALUE_STRING:
        return "a string";
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "a number";
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "a boolean";
      case VALUE_NULL:
        return "null";
      default:
        return String.valueOf(t);
    }
  }

  /** The first message of a parse error, without Jackson's location suffix. */
  static String describe(IOException e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
