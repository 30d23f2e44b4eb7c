package io.geminibatch.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The common case of a generate job's input line, without Jackson: a strict JSON reader that
 * walks the line once (eight bytes at a time inside strings) and the result line written as
 * bytes. It only takes lines that are plain JSON (RFC 8259, UTF-8) with a string key of printable
 * ASCII and field names of ASCII without escapes; anything else ({@link #parse} returns false) goes
 * the general way through Jackson, which gives the same answer and every error message. For a line
 * it takes, the result line is byte for byte the one the general way writes (see
 * FastGenerateLineTest).
 */
final class FastGenerateLine {
  /** Deeper nesting is left to Jackson (and its limits). */
  private static final int MAX_DEPTH = 200;
  /** Longer numbers are left to Jackson (and its limits). */
  private static final int MAX_NUMBER = 100;
  /** Longer keys are left to Jackson (and its limits). */
  private static final int MAX_KEY = 1 << 20;

  private static final byte[] HEAD =
      ascii("{\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"");
  private static final byte[] AFTER_TEXT =
      ascii("\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
          + "\"usageMetadata\":{\"promptTokenCount\":");
  private static final byte[] CANDIDATES = ascii(",\"candidatesTokenCount\":");
  private static final byte[] TOTAL = ascii(",\"totalTokenCount\":");
  private static final byte[] MODEL = ascii("},\"modelVersion\":");
  private static final byte[] RESPONSE_ID = ascii(",\"responseId\":\"");
  private static final byte[] KEY = ascii("},\"key\":\"");

  /** {@code "modelVersion"}'s value as the generator writes it (quoted, escaped). */
  private final byte[] modelVersion;

  private byte[] b;
  private int pos;
  private int end;
  private int depth;
  private boolean failed;
  // the string just scanned
  private int strFrom;
  private int strTo;
  private boolean strEscaped;
  private boolean strNonAscii;
  // the line's key
  private boolean hasKey;
  private int keyFrom;
  private int keyTo;

  private byte[] out = new byte[4096];

  FastGenerateLine(byte[] modelVersionJson) {
    this.modelVersion = modelVersionJson;
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Reads {@code {"key": ..., "request": {...}}} into {@code prompt}; false when the line is not
   * one this reader takes (then nothing about it is known).
   */
  boolean parse(byte[] line, int offset, int length, EmulatorResponder.Prompt prompt) {
    b = line;
    pos = offset;
    end = offset + length;
    depth = 0;
    failed = false;
    hasKey = false;
    prompt.reset();
    boolean sawRequest = false;
    skipWs();
    if (!at('{')) {
      return false;
    }
    pos++;
    depth++;
    skipWs();
    if (at('}')) {
      return false; // neither key nor request: the general way says what is wrong
    }
    while (!failed) {
      if (!at('"')) {
        return false;
      }
      scanString();
      if (failed || strEscaped || strNonAscii) {
        return false;
      }
      int nameFrom = strFrom;
      int nameTo = strTo;
      colon();
      if (failed) {
        return false;
      }
      if (is(nameFrom, nameTo, "key")) {
        if (!at('"')) {
          return false; // a key that is not a string is kept as a JSON tree
        }
        scanString();
        if (failed || strEscaped || strNonAscii || strTo - strFrom > MAX_KEY) {
          return false;
        }
        hasKey = true;
        keyFrom = strFrom;
        keyTo = strTo;
      } else if (is(nameFrom, nameTo, "request") && at('{')) {
        sawRequest = true;
        request(prompt);
      } else {
        skipValue();
      }
      if (failed) {
        return false;
      }
      skipWs();
      if (at(',')) {
        pos++;
        skipWs();
      } else if (at('}')) {
        // What follows the object is never read, by Jackson either.
        return sawRequest;
      } else {
        return false;
      }
    }
    return false;
  }

  /**
   * Writes the result line ({@code '\n'} included) for a prompt {@link #parse} read and that has
   * contents. The line is built in a buffer that grows with the longest line seen; it is written
   * from here, never handed out, as a caller holding the buffer across a call would keep one that
   * the call outgrew (lines over 4 KB once failed that way).
   */
  void writeResponse(EmulatorResponder.Prompt prompt, OutputStream to) throws IOException {
    int length = respond(prompt); // first: it may replace the buffer
    to.write(out, 0, length);
  }

  /** Builds the result line in {@link #out}; returns its length. */
  private int respond(EmulatorResponder.Prompt prompt) {
    long promptTokens = EmulatorResponder.tokens(prompt.codePoints);
    long candidateTokens = EmulatorResponder.tokens(prompt.answerCodePoints);
    int keyLength = hasKey ? keyTo - keyFrom : 0;
    int need =
        HEAD.length + prompt.answerLength + AFTER_TEXT.length + CANDIDATES.length + TOTAL.length
            + 3 * 20 + MODEL.length + modelVersion.length + RESPONSE_ID.length + 23 + 1
            + KEY.length + keyLength + 3;
    if (need > out.length) {
      out = Arrays.copyOf(out, Math.max(need, out.length * 2));
    }
    byte[] o = out;
    int n = put(o, 0, HEAD);
    System.arraycopy(prompt.answer, 0, o, n, prompt.answerLength);
    n += prompt.answerLength;
    n = put(o, n, AFTER_TEXT);
    n = number(o, n, promptTokens);
    n = put(o, n, CANDIDATES);
    n = number(o, n, candidateTokens);
    n = put(o, n, TOTAL);
    n = number(o, n, promptTokens + candidateTokens);
    n = put(o, n, MODEL);
    n = put(o, n, modelVersion);
    n = put(o, n, RESPONSE_ID);
    EmulatorResponder.responseId(prompt, o, n);
    n += 23;
    o[n++] = '"';
    if (hasKey) {
      n = put(o, n, KEY);
      System.arraycopy(b, keyFrom, o, n, keyLength);
      n += keyLength;
      o[n++] = '"';
    } else {
      o[n++] = '}';
    }
    o[n++] = '}';
    o[n++] = '\n';
    return n;
  }

  private static int put(byte[] o, int n, byte[] s) {
    System.arraycopy(s, 0, o, n, s.length);
    return n + s.length;
  }

  private static int number(byte[] o, int n, long v) {
    if (v < 0) {
      byte[] s = ascii(Long.toString(v));
      return put(o, n, s);
    }
    int digits = 1;
    for (long x = v; x >= 10; x /= 10) {
      digits++;
    }
    for (int i = n + digits - 1; i >= n; i--) {
      o[i] = (byte) ('0' + v % 10);
      v /= 10;
    }
    return n + digits;
  }

  // --- the request -------------------------------------------------------------------------------

  /** A GenerateContentRequest object, as EmulatorResponder.readGenerateRequest reads it. */
  private void request(EmulatorResponder.Prompt prompt) {
    prompt.reset();
    if (!open('{')) {
      return;
    }
    while (!failed && field()) {
      int nameFrom = strFrom;
      int nameTo = strTo;
      boolean contents;
      boolean system;
      if (hasUnderscore(nameFrom, nameTo)) {
        String camel = Json.camel(new String(b, nameFrom, nameTo - nameFrom, StandardCharsets.US_ASCII));
        contents = camel.equals("contents");
        system = camel.equals("systemInstruction");
      } else {
        contents = is(nameFrom, nameTo, "contents");
        system = is(nameFrom, nameTo, "systemInstruction");
      }
      if (contents && at('[')) {
        contents(prompt);
      } else if (system && at('{')) {
        content(prompt, false);
      } else {
        skipValue();
      }
      next('}');
    }
  }

  private void contents(EmulatorResponder.Prompt prompt) {
    if (!open('[')) {
      return;
    }
    while (!failed && element(']')) {
      if (at('{')) {
        prompt.hasContents = true;
        prompt.beginContent();
        content(prompt, true);
        prompt.endContent();
      } else {
        skipValue();
      }
      next(']');
    }
  }

  /** A Content object: its text parts count, and make the current content when {@code keep}. */
  private void content(EmulatorResponder.Prompt prompt, boolean keep) {
    if (!open('{')) {
      return;
    }
    while (!failed && field()) {
      if (is(strFrom, strTo, "parts") && at('[')) {
        parts(prompt, keep);
      } else {
        skipValue();
      }
      next('}');
    }
  }

  private void parts(EmulatorResponder.Prompt prompt, boolean keep) {
    if (!open('[')) {
      return;
    }
    while (!failed && element(']')) {
      if (at('{')) {
        part(prompt, keep);
      } else {
        skipValue();
      }
      next(']');
    }
  }

  private void part(EmulatorResponder.Prompt prompt, boolean keep) {
    if (!open('{')) {
      return;
    }
    while (!failed && field()) {
      if (is(strFrom, strTo, "text") && at('"')) {
        scanString();
        if (failed) {
          return;
        }
        long cps =
            strEscaped || strNonAscii
                ? EmulatorResponder.codePoints(b, strFrom, strTo)
                : strTo - strFrom;
        prompt.codePoints += cps;
        if (keep) {
          prompt.appendText(b, strFrom, strTo, cps, strEscaped);
        }
      } else {
        skipValue();
      }
      next('}');
    }
  }

  // --- JSON ----------------------------------------------------------------------------------------

  private boolean at(char c) {
    return pos < end && b[pos] == c;
  }

  private void fail() {
    failed = true;
    pos = end;
  }

  private void skipWs() {
    while (pos < end) {
      byte c = b[pos];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        return;
      }
      pos++;
    }
  }

  /** Enters an object or array at {@code pos}; false (failed) when too deep. */
  private boolean open(char c) {
    if (!at(c) || ++depth > MAX_DEPTH) {
      fail();
      return false;
    }
    pos++;
    skipWs();
    return true;
  }

  /**
   * Before a member: false at the object's end (consumed); otherwise reads the name (ASCII
   * without escapes, else failed) and the colon, and stops on the value.
   */
  private boolean field() {
    if (at('}')) {
      pos++;
      depth--;
      return false;
    }
    if (!at('"')) {
      fail();
      return false;
    }
    scanString();
    if (strEscaped || strNonAscii) {
      fail();
      return false;
    }
    colon();
    return !failed;
  }

  /** Before an array element: false at the array's end (consumed). */
  private boolean element(char close) {
    if (at(close)) {
      pos++;
      depth--;
      return false;
    }
    return true;
  }

  /** After a member or element: a comma (then the next one) or the closing bracket. */
  private void next(char close) {
    if (failed) {
      return;
    }
    skipWs();
    if (at(',')) {
      pos++;
      skipWs();
      if (at(close)) {
        fail(); // a trailing comma
      }
    } else if (!at(close)) {
      fail();
    }
  }

  private void colon() {
    skipWs();
    if (!at(':')) {
      fail();
      return;
    }
    pos++;
    skipWs();
  }

  /** Skips any JSON value, checking it. */
  private void skipValue() {
    if (pos >= end) {
      fail();
      return;
    }
    byte c = b[pos];
    switch (c) {
      case '{':
        if (!open('{')) {
          return;
        }
        while (!failed && field()) {
          skipValue();
          next('}');
        }
        return;
      case '[':
        if (!open('[')) {
          return;
        }
        while (!failed && element(']')) {
          skipValue();
          next(']');
        }
        return;
      case '"':
        scanString();
        return;
      case 't':
        literal("true");
        return;
      case 'f':
        literal("false");
        return;
      case 'n':
        literal("null");
        return;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          number();
        } else {
          fail();
        }
    }
  }

  private void literal(String word) {
    int n = word.length();
    if (pos + n > end) {
      fail();
      return;
    }
    for (int i = 0; i < n; i++) {
      if (b[pos + i] != word.charAt(i)) {
        fail();
        return;
      }
    }
    pos += n;
    delimiter();
  }

  /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? then a delimiter. */
  private void number() {
    int start = pos;
    if (at('-')) {
      pos++;
    }
    if (at('0')) {
      pos++;
    } else if (digits() == 0) {
      fail();
      return;
    }
    if (at('.')) {
      pos++;
      if (digits() == 0) {
        fail();
        return;
      }
    }
    if (at('e') || at('E')) {
      pos++;
      if (at('+') || at('-')) {
        pos++;
      }
      if (digits() == 0) {
        fail();
        return;
      }
    }
    if (pos - start > MAX_NUMBER) {
      fail();
      return;
    }
    delimiter();
  }

  private int digits() {
    int from = pos;
    while (pos < end && b[pos] >= '0' && b[pos] <= '9') {
      pos++;
    }
    return pos - from;
  }

  /** After a scalar: white space, a comma or a closing bracket must follow. */
  private void delimiter() {
    if (pos >= end) {
      fail();
      return;
    }
    byte c = b[pos];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' && c != '}' && c != ']') {
      fail();
    }
  }

  /**
   * A string at {@code pos} (on its quote): its body is {@code [strFrom, strTo)}, {@code pos} is
   * after the closing quote. Fails on a control character, an escape JSON does not have, or bytes
   * that are not well-formed UTF-8.
   */
  private void scanString() {
    pos++;
    strFrom = pos;
    strEscaped = false;
    strNonAscii = false;
    int i = pos;
    while (true) {
      while (i + 8 <= end) {
        long w = Swar.word(b, i);
        long m = Swar.eq(w, '"') | Swar.eq(w, '\\') | Swar.below(w, 0x20) | (w & Swar.HIGH);
        if (m != 0) {
          i += Swar.firstByte(m);
          break;
        }
        i += 8;
      }
      if (i >= end) {
        fail();
        return;
      }
      int c = b[i] & 0xFF;
      if (c == '"') {
        strTo = i;
        pos = i + 1;
        return;
      }
      if (c == '\\') {
        strEscaped = true;
        i = escape(i);
      } else if (c < 0x20) {
        fail();
        return;
      } else if (c >= 0x80) {
        strNonAscii = true;
        i = utf8(i, c);
      } else {
        i++;
      }
      if (i < 0) {
        fail();
        return;
      }
    }
  }

  /** The index after the escape at {@code i}, or -1. */
  private int escape(int i) {
    if (i + 1 >= end) {
      return -1;
    }
    switch (b[i + 1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return i + 2;
      case 'u':
        if (i + 6 > end) {
          return -1;
        }
        for (int k = i + 2; k < i + 6; k++) {
          if (Character.digit(b[k], 16) < 0) {
            return -1;
          }
        }
        return i + 6;
      default:
        return -1;
    }
  }

  /** The index after the well-formed UTF-8 sequence that starts at {@code i}, or -1. */
  private int utf8(int i, int lead) {
    int n;
    int cp;
    int min;
    if (lead >= 0xC2 && lead <= 0xDF) {
      n = 1;
      cp = lead & 0x1F;
      min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      n = 2;
      cp = lead & 0x0F;
      min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      n = 3;
      cp = lead & 0x07;
      min = 0x10000;
    } else {
      return -1;
    }
    if (i + n >= end) {
      return -1;
    }
    for (int k = 1; k <= n; k++) {
      int c = b[i + k] & 0xFF;
      if ((c & 0xC0) != 0x80) {
        return -1;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return -1;
    }
    return i + n + 1;
  }

  private boolean is(int from, int to, String s) {
    int n = s.length();
    if (to - from != n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (b[from + i] != s.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private boolean hasUnderscore(int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] == '_') {
        return true;
      }
    }
    return false;
  }
}
