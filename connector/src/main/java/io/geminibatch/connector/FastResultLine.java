package io.geminibatch.connector;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The common case of a generate job's result line, read without Jackson: {@code {"key":"...",
 * "response":{...}}} (the two fields in either order, nothing else at the top), where the line is
 * read once, byte by byte, as a strict subset of JSON. It takes a line only when it can be sure
 * the general reader ({@code AwaitJobFn.visitLine}, Jackson) gives the same key, the same slice of
 * response bytes and the same token counts; for any other line ({@link #scan} false: escapes or
 * non-ASCII in the key, an {@code error}, duplicate fields, whitespace other than spaces, counts
 * that are not plain integers, deep nesting, anything malformed) the caller reads it the general
 * way, which also decides what is malformed. {@code FastResultLineTest} holds the two readers to
 * the same answers.
 *
 * <p>Per line, Jackson made a parser and its contexts and tokenized the whole response: most of
 * the read step's CPU at 300,000 prompts (JFR).
 */
final class FastResultLine {
  private static final int MAX_DEPTH = 200;
  private static final int MAX_NUMBER = 100;
  private static final int MAX_KEY = 1 << 16;
  private static final byte[] KEY = ascii("key");
  private static final byte[] RESPONSE = ascii("response");
  private static final byte[] USAGE = ascii("usageMetadata");
  private static final byte[] PROMPT = ascii("promptTokenCount");
  private static final byte[] CANDIDATES = ascii("candidatesTokenCount");
  private static final byte[] TOTAL = ascii("totalTokenCount");

  private byte[] b;
  private int pos;
  private int end;
  // the string just scanned (between its quotes) and whether it had escapes or non-ASCII bytes
  private int strFrom;
  private int strTo;
  private boolean strPlain;
  // the line's response: usageMetadata seen, and which counts in it (bits of the *_NAME counts)
  private boolean usageSeen;
  private int countsSeen;

  /** The key's characters, in {@code [keyFrom, keyTo)} of the line's array (ASCII, no escapes). */
  int keyFrom;
  int keyTo;
  /** The response object's bytes, {@code [responseStart, responseEnd)}. */
  int responseStart;
  int responseEnd;
  long promptTokens;
  long candidatesTokens;
  long totalTokens;

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  String key() {
    return new String(b, keyFrom, keyTo - keyFrom, StandardCharsets.US_ASCII);
  }

  /** Reads {@code line[offset, offset + length)}; false when the general reader must. */
  boolean scan(byte[] line, int offset, int length) {
    b = line;
    pos = offset;
    end = offset + length;
    keyFrom = -1;
    responseStart = -1;
    usageSeen = false;
    countsSeen = 0;
    promptTokens = 0;
    candidatesTokens = 0;
    totalTokens = 0;
    try {
      return topLevel();
    } catch (ArrayIndexOutOfBoundsException e) {
      return false; // cannot happen within [offset, end); guards the bounds all the same
    }
  }

  private boolean topLevel() {
    skipSpaces();
    if (pos >= end || b[pos] != '{' || !members(TOP, 0) || keyFrom < 0 || responseStart < 0) {
      return false;
    }
    skipSpaces();
    return pos == end;
  }

  // Which object's members are being read: the names that matter differ.
  private static final int TOP = 0;
  private static final int RESPONSE_OBJECT = 1;
  private static final int USAGE_OBJECT = 2;
  private static final int OTHER = 3;
  // Names that matter, per object (0: any other).
  private static final int KEY_NAME = 1;
  private static final int RESPONSE_NAME = 2;
  private static final int USAGE_NAME = 3;
  private static final int PROMPT_NAME = 1;
  private static final int CANDIDATES_NAME = 2;
  private static final int TOTAL_NAME = 4;

  /** The members of the object at {@code pos} ({@code '{'}), each read by {@link #member}. */
  private boolean members(int object, int depth) {
    pos++; // '{'
    skipSpaces();
    if (take('}')) {
      return true;
    }
    do {
      skipSpaces();
      if (!string()) {
        return false;
      }
      int name = object == OTHER || !strPlain ? 0 : nameIn(object);
      if (!colon() || !member(object, name, depth)) {
        return false;
      }
      skipSpaces();
    } while (take(','));
    return take('}');
  }

  /** The name just scanned, among those that matter in {@code object}. */
  private int nameIn(int object) {
    switch (object) {
      case TOP:
        return named(KEY) ? KEY_NAME : named(RESPONSE) ? RESPONSE_NAME : 0;
      case RESPONSE_OBJECT:
        return named(USAGE) ? USAGE_NAME : 0;
      default:
        return named(PROMPT) ? PROMPT_NAME : named(CANDIDATES) ? CANDIDATES_NAME : named(TOTAL) ? TOTAL_NAME : 0;
    }
  }

  /**
   * A member's value. At the top only {@code key} (a plain string) and {@code response} (an
   * object); in the response, {@code usageMetadata} (an object) once; in it, the three counts
   * (plain integers) once each; anything else is skipped.
   */
  private boolean member(int object, int name, int depth) {
    switch (object) {
      case TOP:
        if (name == KEY_NAME) {
          if (keyFrom >= 0 || !string() || !strPlain || strTo - strFrom > MAX_KEY) {
            return false;
          }
          keyFrom = strFrom;
          keyTo = strTo;
          return true;
        }
        if (name == RESPONSE_NAME) {
          if (responseStart >= 0 || pos >= end || b[pos] != '{') {
            return false;
          }
          responseStart = pos;
          if (!members(RESPONSE_OBJECT, 1)) {
            return false;
          }
          responseEnd = pos;
          return true;
        }
        return false;
      case RESPONSE_OBJECT:
        if (name == USAGE_NAME) {
          if (usageSeen || pos >= end || b[pos] != '{') {
            return false;
          }
          usageSeen = true;
          return members(USAGE_OBJECT, 2);
        }
        return value(2);
      case USAGE_OBJECT:
        if (name == 0) {
          return value(3);
        }
        if ((countsSeen & name) != 0) {
          return false;
        }
        countsSeen |= name;
        long v = integer();
        if (v == Long.MIN_VALUE) {
          return false;
        }
        if (name == PROMPT_NAME) {
          promptTokens = v;
        } else if (name == CANDIDATES_NAME) {
          candidatesTokens = v;
        } else {
          totalTokens = v;
        }
        return true;
      default:
        return value(depth);
    }
  }

  /** An integer of at most 18 digits, optionally negative; Long.MIN_VALUE when it is not one. */
  private long integer() {
    boolean negative = take('-');
    int from = pos;
    while (pos < end && b[pos] >= '0' && b[pos] <= '9') {
      pos++;
    }
    int digits = pos - from;
    if (digits == 0 || digits > 18 || (digits > 1 && b[from] == '0')) {
      return Long.MIN_VALUE;
    }
    if (pos < end && (b[pos] == '.' || b[pos] == 'e' || b[pos] == 'E')) {
      return Long.MIN_VALUE;
    }
    long v = 0;
    for (int i = from; i < pos; i++) {
      v = v * 10 + (b[i] - '0');
    }
    return negative ? -v : v;
  }

  /** Skips any JSON value this reader takes. */
  private boolean value(int depth) {
    if (pos >= end) {
      return false;
    }
    byte c = b[pos];
    switch (c) {
      case '"':
        return string();
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  private boolean object(int depth) {
    return depth <= MAX_DEPTH && members(OTHER, depth);
  }

  private boolean array(int depth) {
    if (depth > MAX_DEPTH) {
      return false;
    }
    pos++; // '['
    skipSpaces();
    if (take(']')) {
      return true;
    }
    do {
      skipSpaces();
      if (!value(depth)) {
        return false;
      }
      skipSpaces();
    } while (take(','));
    return take(']');
  }

  private boolean literal(String word) {
    int n = word.length();
    if (end - pos < n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (b[pos + i] != word.charAt(i)) {
        return false;
      }
    }
    pos += n;
    return true;
  }

  /** RFC 8259's number, at most {@value #MAX_NUMBER} characters. */
  private boolean number() {
    int from = pos;
    take('-');
    if (pos < end && b[pos] == '0') {
      pos++;
    } else if (!digits()) {
      return false;
    }
    if (take('.') && !digits()) {
      return false;
    }
    if (pos < end && (b[pos] == 'e' || b[pos] == 'E')) {
      pos++;
      if (!take('+')) {
        take('-');
      }
      if (!digits()) {
        return false;
      }
    }
    return pos - from <= MAX_NUMBER;
  }

  private boolean digits() {
    int from = pos;
    while (pos < end && b[pos] >= '0' && b[pos] <= '9') {
      pos++;
    }
    return pos > from;
  }

  /**
   * A string at {@code pos}: valid escapes, no control characters, well-formed UTF-8 (no overlong
   * forms, no surrogates, nothing past U+10FFFF). Sets {@link #strFrom}, {@link #strTo} and
   * {@link #strPlain} (printable ASCII without escapes).
   */
  private boolean string() {
    if (pos >= end || b[pos] != '"') {
      return false;
    }
    pos++;
    strFrom = pos;
    boolean plain = true;
    while (pos < end) {
      // Eight bytes at a time while none ends the string or needs a look: a quote, a backslash,
      // a control character or a byte of a multi-byte character.
      while (end - pos >= 8 && !special((long) LONGS.get(b, pos))) {
        pos += 8;
      }
      if (pos >= end) {
        break;
      }
      int c = b[pos] & 0xff;
      if (c == '"') {
        strTo = pos;
        strPlain = plain;
        pos++;
        return true;
      }
      if (c == '\\') {
        plain = false;
        if (!escape()) {
          return false;
        }
      } else if (c < 0x20) {
        return false;
      } else if (c < 0x80) {
        pos++;
      } else {
        plain = false;
        if (!utf8(c)) {
          return false;
        }
      }
    }
    return false;
  }

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;

  /** Whether a byte of {@code w} is {@code "}, {@code \\}, below 0x20 or 0x80 and above. */
  private static boolean special(long w) {
    long quote = w ^ (ONES * '"');
    long backslash = w ^ (ONES * '\\');
    long found =
        ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) | ((w - ONES * 0x20) & ~w) | w;
    return (found & HIGHS) != 0;
  }

  private boolean escape() {
    pos++; // '\\'
    if (pos >= end) {
      return false;
    }
    switch (b[pos]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        pos++;
        return true;
      case 'u':
        if (end - pos < 5) {
          return false;
        }
        for (int i = 1; i <= 4; i++) {
          if (Character.digit(b[pos + i], 16) < 0) {
            return false;
          }
        }
        pos += 5;
        return true;
      default:
        return false;
    }
  }

  /** One UTF-8 sequence starting with lead byte {@code c} (0x80 or more). */
  private boolean utf8(int c) {
    int n;
    int min;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else {
      return false;
    }
    if (end - pos <= n) {
      return false;
    }
    int cp = c & (0x3f >> n);
    for (int i = 1; i <= n; i++) {
      int cc = b[pos + i] & 0xff;
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    pos += n + 1;
    return true;
  }

  private boolean named(byte[] name) {
    int n = strTo - strFrom;
    if (n != name.length) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (b[strFrom + i] != name[i]) {
        return false;
      }
    }
    return true;
  }

  private boolean colon() {
    skipSpaces();
    if (!take(':')) {
      return false;
    }
    skipSpaces();
    return true;
  }

  private boolean take(char c) {
    if (pos < end && b[pos] == c) {
      pos++;
      return true;
    }
    return false;
  }

  private void skipSpaces() {
    while (pos < end && b[pos] == ' ') {
      pos++;
    }
  }
}
