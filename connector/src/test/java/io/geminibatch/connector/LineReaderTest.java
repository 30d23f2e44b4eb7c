package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The result and shard files are split into lines by LineReader: every byte must land right. */
class LineReaderTest {

  /** Hands out at most 7 bytes a read, so lines straddle every buffer boundary. */
  private static InputStream trickle(String s) {
    return new FilterInputStream(new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8))) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, 7));
      }
    };
  }

  private static List<String> lines(InputStream in, int max) throws IOException {
    List<String> out = new ArrayList<>();
    try (LineReader r = new LineReader(in, max)) {
      while (r.next()) {
        out.add(new String(r.buffer(), r.start(), r.length(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  @Test
  void splitsOnNewlinesDropsCarriageReturnsAndSkipsBlankLines() throws IOException {
    String longLine = "é".repeat(100_000); // several buffer growths, multi-byte characters
    String text = "a\r\n\n  \nb\n" + longLine + "\nlast without newline";
    assertEquals(List.of("a", "b", longLine, "last without newline"), lines(trickle(text), 1 << 20));
  }

  @Test
  void theEightBytesAtATimeNewlineSearchAgreesWithAPlainLoop() {
    java.util.Random random = new java.util.Random(42);
    byte[] alphabet = {'\n', 0x0b, 0x09, (byte) 0x8a, (byte) 0x0a, 'a', (byte) 0xff, 0, '"'};
    for (int round = 0; round < 20_000; round++) {
      byte[] b = new byte[random.nextInt(40)];
      for (int i = 0; i < b.length; i++) {
        b[i] = random.nextInt(4) == 0 ? alphabet[random.nextInt(alphabet.length)] : (byte) random.nextInt(256);
      }
      int from = b.length == 0 ? 0 : random.nextInt(b.length + 1);
      int to = from + random.nextInt(b.length - from + 1);
      int expected = -1;
      for (int i = from; i < to; i++) {
        if (b[i] == '\n') {
          expected = i;
          break;
        }
      }
      assertEquals(expected, LineReader.indexOfNewline(b, from, to), java.util.Arrays.toString(b) + " " + from + ".." + to);
    }
  }

  @Test
  void aLineLongerThanTheLimitIsAnErrorNotAnOutOfMemory() {
    assertThrows(IOException.class, () -> lines(trickle("x".repeat(200_000) + "\n"), 100_000));
  }
}
