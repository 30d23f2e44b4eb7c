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
  void aLineLongerThanTheLimitIsAnErrorNotAnOutOfMemory() {
    assertThrows(IOException.class, () -> lines(trickle("x".repeat(200_000) + "\n"), 100_000));
  }
}
