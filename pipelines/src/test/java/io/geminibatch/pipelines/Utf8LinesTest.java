package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The input's lines are split in the bytes ({@link Utf8Lines}); {@code BufferedReader} over an
 * {@code InputStreamReader}, what read them before, is the oracle: the same lines, the same text,
 * for every terminator, blank lines, multi-byte and malformed UTF-8, a BOM, with the buffer and
 * the reads' sizes swept across every line boundary.
 */
class Utf8LinesTest {

  private static List<String> oracle(byte[] input) throws IOException {
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(new ByteArrayInputStream(input), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        lines.add(line);
      }
    }
    return lines;
  }

  private static List<String> split(byte[] input, int bufferBytes, int maxRead) throws IOException {
    List<String> lines = new ArrayList<>();
    try (Utf8Lines r = new Utf8Lines(new ChoppyStream(input, maxRead), bufferBytes)) {
      while (r.next()) {
        lines.add(r.text());
      }
    }
    return lines;
  }

  /** Hands out at most {@code maxRead} bytes a read, as a network stream may. */
  private static final class ChoppyStream extends FilterInputStream {
    private final int maxRead;

    ChoppyStream(byte[] b, int maxRead) {
      super(new ByteArrayInputStream(b));
      this.maxRead = maxRead;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return super.read(b, off, Math.min(len, maxRead));
    }
  }

  @Test
  void terminatorsAndEdgesAsBufferedReaderHasThem() throws IOException {
    String[] cases = {
      "", "\n", "\r", "\r\n", "\n\r", "\r\r\n\n", "a", "a\n", "a\r", "a\r\n", "a\n\nb", "a\r\rb\r\n", " \t \n\n  ",
      "\uFEFFfirst\nsecond", "é\r\nü\rß\n€𝄞", "x\r\n\r\n", "{\"key\":1}\r",
    };
    for (String c : cases) {
      byte[] b = c.getBytes(StandardCharsets.UTF_8);
      for (int buffer = 1; buffer <= 12; buffer++) {
        for (int read = 1; read <= 5; read++) {
          assertEquals(oracle(b), split(b, buffer, read), "'" + c.replace("\r", "\\r").replace("\n", "\\n") + "' buffer " + buffer + " reads of " + read);
        }
      }
    }
  }

  @Test
  void randomBytesWithMalformedUtf8SweptAcrossBufferSizes() throws IOException {
    // Terminators, ASCII, multi-byte characters, and bytes that are not UTF-8 (lone continuation
    // bytes, truncated sequences, 0xFF) next to line ends: the decoder's replacement must match.
    byte[][] pieces = {
      {'\n'}, {'\r'}, {'\r', '\n'}, {'a'}, {' '}, {'{'}, "é".getBytes(StandardCharsets.UTF_8), "€".getBytes(StandardCharsets.UTF_8),
      "𝄞".getBytes(StandardCharsets.UTF_8), {(byte) 0xE2, (byte) 0x82}, {(byte) 0x80}, {(byte) 0xFF}, {(byte) 0xF0, (byte) 0x9D},
      {(byte) 0xC3}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, "abcdefghij".getBytes(StandardCharsets.UTF_8),
    };
    Random random = new Random(42);
    for (int round = 0; round < 400; round++) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      int n = random.nextInt(60);
      for (int i = 0; i < n; i++) {
        out.writeBytes(pieces[random.nextInt(pieces.length)]);
      }
      byte[] b = out.toByteArray();
      List<String> expected = oracle(b);
      for (int buffer : new int[] {1, 2, 3, 7, 8, 9, 15, 16, 17, 64, 1 << 16}) {
        assertEquals(expected, split(b, buffer, 1 + random.nextInt(20)), "round " + round + " buffer " + buffer);
      }
    }
  }

  @Test
  void aLineLongerThanTheBufferGrowsItAndLongFilesKeepEveryLine() throws IOException {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 2000; i++) {
      text.append("line ").append(i).append(" ").append("y".repeat(i % 97 == 0 ? 200_000 : i % 50)).append(i % 3 == 0 ? "\r\n" : "\n");
    }
    byte[] b = text.toString().getBytes(StandardCharsets.UTF_8);
    assertEquals(oracle(b), split(b, 64 << 10, 1 << 20));
    assertEquals(oracle(b), split(b, 100, 8191));
  }

  @Test
  void lineEndsAreFoundAtEveryOffsetOfAWord() {
    for (int len = 0; len <= 24; len++) {
      for (int at = -1; at < len; at++) {
        for (byte end : new byte[] {'\n', '\r'}) {
          byte[] b = new byte[len];
          java.util.Arrays.fill(b, (byte) 'q');
          if (at >= 0) {
            b[at] = end;
            if (at + 1 < len) {
              b[at + 1] = (byte) (end == '\n' ? '\r' : '\n');
            }
          }
          for (int from = 0; from <= len; from++) {
            int expected = at >= from ? at : (at >= 0 && at + 1 >= from && at + 1 < len ? at + 1 : -1);
            assertEquals(expected, Utf8Lines.indexOfLineEnd(b, from, len), len + " " + at + " " + from);
          }
        }
      }
    }
  }

  @Test
  void aLineIsAsciiExactlyWhenItsBytesAreItsTextsUtf8OneByteAChar() throws IOException {
    // The line key hashes an ASCII line's bytes as they are (InputLines.lineKey); any other line's
    // text is encoded again. Lengths sweep the eight-byte words, the odd byte at every offset.
    Random random = new Random(3);
    for (int len = 0; len <= 40; len++) {
      for (int at = -1; at < len; at++) {
        byte[] line = new byte[len];
        for (int i = 0; i < len; i++) {
          line[i] = (byte) (' ' + random.nextInt(90));
        }
        byte[] odd = {(byte) 0xC3, (byte) 0xA9}; // é
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(line, 0, Math.max(at, 0));
        if (at >= 0) {
          b.writeBytes(odd);
          b.write(line, at, len - at);
        }
        b.write('\n');
        byte[] bytes = b.toByteArray();
        try (Utf8Lines r = new Utf8Lines(new ByteArrayInputStream(bytes), 7)) {
          r.next();
          byte[] own = java.util.Arrays.copyOfRange(r.buffer(), r.start(), r.start() + r.length());
          assertEquals(at < 0, r.isAscii(), len + " " + at);
          if (r.isAscii()) {
            assertEquals(new String(own, StandardCharsets.ISO_8859_1), r.text());
            org.junit.jupiter.api.Assertions.assertArrayEquals(r.text().getBytes(StandardCharsets.UTF_8), own);
            assertEquals(
                InputLines.lineKey("f.txt", 9, r.text()),
                InputLines.lineKey("f.txt", 9, r.buffer(), r.start(), r.length()));
          }
        }
      }
    }
  }
}
