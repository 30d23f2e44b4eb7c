package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The eight-bytes-at-a-time scans against the byte-by-byte versions they replaced. */
class SwarScanTest {
  private static final byte[] ALPHABET =
      "ab \t\r\n\n\n\\\"u0D8dcéxy{}\u0001".getBytes(StandardCharsets.UTF_8);

  private static byte[] random(Random r, int n) {
    byte[] b = new byte[n];
    int mode = r.nextInt(3);
    for (int i = 0; i < n; i++) {
      b[i] =
          mode == 0
              ? (byte) r.nextInt(256)
              : mode == 1 ? ALPHABET[r.nextInt(ALPHABET.length)] : (r.nextInt(40) == 0 ? (byte) '\n' : (byte) 'a');
    }
    return b;
  }

  /** The LineCounter before: byte by byte. */
  private static long[] simpleScan(long lines, boolean content, byte[] b, int off, int len) {
    for (int i = off; i < off + len; i++) {
      byte c = b[i];
      if (c == '\n') {
        if (content) {
          lines++;
          content = false;
        }
      } else if (c != ' ' && c != '\t' && c != '\r') {
        content = true;
      }
    }
    return new long[] {lines, content ? 1 : 0};
  }

  @Test
  void lineCounterMatchesTheSimpleVersionAcrossChunks() {
    Random r = new Random(1);
    for (int round = 0; round < 20_000; round++) {
      byte[] b = random(r, r.nextInt(300));
      LineCounter c = new LineCounter();
      long lines = 0;
      boolean content = false;
      int at = 0;
      while (at < b.length) {
        int n = Math.min(b.length - at, r.nextInt(40));
        c.scan(b, at, n);
        long[] s = simpleScan(lines, content, b, at, n);
        lines = s[0];
        content = s[1] == 1;
        assertEquals(lines + (content ? 1 : 0), c.total(), "round " + round + " at " + at);
        at += n;
      }
      assertEquals(lines + (content ? 1 : 0), c.total());
    }
  }

  @Test
  void newlineSearchMatches() {
    Random r = new Random(2);
    for (int round = 0; round < 20_000; round++) {
      byte[] b = random(r, r.nextInt(100));
      int from = b.length == 0 ? 0 : r.nextInt(b.length);
      int to = from + (b.length == from ? 0 : r.nextInt(b.length - from + 1));
      int expected = to;
      for (int i = from; i < to; i++) {
        if (b[i] == '\n') {
          expected = i;
          break;
        }
      }
      assertEquals(expected, Swar.indexOfNewline(b, from, to));
    }
  }

  /** EmulatorResponder.codePoints before: byte by byte. */
  private static long simpleCodePoints(byte[] b, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      byte c = b[i];
      if (c == '\\') {
        n++;
        if (i + 5 < to && b[i + 1] == 'u') {
          int unit = EmulatorResponder.hex4(b, i + 2);
          i += 5;
          if (unit >= 0xD800 && unit <= 0xDBFF && i + 6 < to && b[i + 1] == '\\' && b[i + 2] == 'u') {
            int low = EmulatorResponder.hex4(b, i + 3);
            if (low >= 0xDC00 && low <= 0xDFFF) {
              i += 6;
            }
          }
        } else {
          i++;
        }
      } else if ((c & 0xC0) != 0x80) {
        n++;
      }
    }
    return n;
  }

  @Test
  void codePointsMatchTheSimpleVersion() {
    Random r = new Random(3);
    for (int round = 0; round < 50_000; round++) {
      byte[] b = random(r, r.nextInt(80));
      int from = b.length == 0 ? 0 : r.nextInt(b.length);
      int to = from + (b.length == from ? 0 : r.nextInt(b.length - from + 1));
      assertEquals(simpleCodePoints(b, from, to), EmulatorResponder.codePoints(b, from, to));
    }
    byte[] s = "\\ud83d\\ude00 abcdefghijklmnop é 😀 \\n".getBytes(StandardCharsets.UTF_8);
    assertEquals(simpleCodePoints(s, 0, s.length), EmulatorResponder.codePoints(s, 0, s.length));
  }
}
