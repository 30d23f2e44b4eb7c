package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
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
   * writes.
   */
  static byte[] quoteUtf8(String s) {
    return quoted(EMPTY, s, EMPTY);
  }

  private static final byte[] EMPTY = new byte[0];

  /**
   * {@code head}, then {@code s} as a JSON string literal in UTF-8, then {@code tail}, in one
   * array. Text with nothing to escape (most prompts) is its UTF-8 bytes as they are: JSON escapes
   * only quotes, backslashes and control characters, all single bytes in UTF-8.
   */
  static byte[] quoted(byte[] head, String s, byte[] tail) {
    byte[] body = s.getBytes(StandardCharsets.UTF_8);
    if (needsEscape(body)) {
      body = JsonStringEncoder.getInstance().quoteAsUTF8(s);
    }
    byte[] out = new byte[head.length + body.length + 2 + tail.length];
    System.arraycopy(head, 0, out, 0, head.length);
    out[head.length] = '"';
    System.arraycopy(body, 0, out, head.length + 1, body.length);
    out[head.length + 1 + body.length] = '"';
    System.arraycopy(tail, 0, out, head.length + body.length + 2, tail.length);
    return out;
  }

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;

  /**
   * Whether UTF-8 text holds a byte JSON must escape (a control character, {@code "} or {@code
   * \\}), eight bytes at a time: a byte-by-byte loop costs as much as the rest of building a
   * request.
   */
  static boolean needsEscape(byte[] b) {
    int i = 0;
    for (int n = b.length - 7; i < n; i += 8) {
      long x = (long) LONGS.get(b, i);
      // Flags bytes below 0x20, or equal to '"' or '\\' (bytes of 0x80 and up never are).
      long below = (x - 0x20 * ONES) & ~x;
      long quote = ((x ^ ('"' * ONES)) - ONES) & ~(x ^ ('"' * ONES));
      long backslash = ((x ^ ('\\' * ONES)) - ONES) & ~(x ^ ('\\' * ONES));
      if (((below | quote | backslash) & HIGHS) != 0) {
        return true;
      }
    }
    for (; i < b.length; i++) {
      if ((b[i] >= 0 && b[i] < 0x20) || b[i] == '"' || b[i] == '\\') {
        return true;
      }
    }
    return false;
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
