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
  /**
   * Lines of every size across the reader's buffer growths (64 KB doubling to 2 MB), read in
   * chunks of random sizes, against a plain split of the same bytes; each line's offset too.
   */
  @Test
  void linesOfEverySizeAcrossTheBufferBoundariesComeOutWhole() throws IOException {
    java.util.SplittableRandom random = new java.util.SplittableRandom(5);
    List<Integer> sizes = new ArrayList<>(List.of(1, 2, 7, 8, 9));
    for (int b : new int[] {1 << 16, 1 << 17, 1 << 18, 1 << 20, 2 << 20}) {
      for (int d = -2; d <= 2; d++) {
        sizes.add(b + d);
      }
    }
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    List<byte[]> expected = new ArrayList<>();
    List<Long> offsets = new ArrayList<>();
    for (int size : sizes) {
      byte[] line = new byte[size];
      for (int i = 0; i < size; i++) {
        line[i] = (byte) ('a' + random.nextInt(26));
      }
      offsets.add((long) all.size());
      expected.add(line);
      all.write(line);
      all.write(random.nextBoolean() ? new byte[] {'\r', '\n'} : new byte[] {'\n'});
    }
    byte[] data = all.toByteArray();
    InputStream choppy =
        new FilterInputStream(new ByteArrayInputStream(data)) {
          @Override
          public int read(byte[] b, int off, int len) throws IOException {
            return super.read(b, off, Math.min(len, 1 + random.nextInt(random.nextBoolean() ? 70_000 : 9)));
          }
        };
    int n = 0;
    try (LineReader r = new LineReader(choppy, 4 << 20)) {
      while (r.next()) {
        int index = n++;
        assertEquals(expected.get(index).length, r.length(), "line " + index);
        assertEquals(offsets.get(index), r.offset(), "offset of line " + index);
        org.junit.jupiter.api.Assertions.assertArrayEquals(
            expected.get(index), java.util.Arrays.copyOfRange(r.buffer(), r.start(), r.start() + r.length()), "line " + index);
      }
    }
    assertEquals(sizes.size(), n);
  }
}
