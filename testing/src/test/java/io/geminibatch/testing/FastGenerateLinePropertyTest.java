package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The fast reader of generate lines and the general way (Jackson) fed the same random, valid
 * lines, read through the {@link LineReader} the job runner uses (in reads of random sizes), of
 * every size across the buffers on the way: the prompt's 256-byte content buffers, the fast
 * writer's 4 KB line buffer, the reader's 4 KB long-line buffer and 64 KB read buffer, up past
 * 1 MB. Texts mix ASCII, JSON escapes, {@code \\u} escapes with surrogate pairs and raw UTF-8 of
 * one to four bytes; lines come with a string key, a numeric key, an escaped key, or none. The
 * fast reader must take every line whose key is plain (or absent) and write the general way's
 * result byte for byte.
 */
class FastGenerateLinePropertyTest {
  private static final String MODEL = "gemini-2.5-flash";

  /** The sizes around every buffer boundary on the way, and a few in between. */
  static final int[] BOUNDARIES = {256, 4096, 8192, 1 << 16, 1 << 17, 1 << 20};

  static List<Integer> boundarySizes() {
    List<Integer> sizes = new ArrayList<>(List.of(1, 2, 3, 7, 8, 9, 100));
    for (int b : BOUNDARIES) {
      for (int d = -2; d <= 2; d++) {
        sizes.add(b + d);
      }
    }
    return sizes;
  }

  @Test
  void fastAndGeneralAgreeByteForByteOnRandomLinesOfEverySize() throws IOException {
    SplittableRandom r = new SplittableRandom(13);
    List<byte[]> lines = new ArrayList<>();
    List<Boolean> plainKey = new ArrayList<>();
    for (int size : boundarySizes()) {
      for (int variant = 0; variant < 4; variant++) {
        int keyKind = r.nextInt(4);
        lines.add(line(r, size, keyKind, variant));
        plainKey.add(keyKind <= 1);
      }
    }
    for (int i = 0; i < 400; i++) {
      int keyKind = r.nextInt(4);
      lines.add(line(r, 1 + r.nextInt(2000), keyKind, r.nextInt(4)));
      plainKey.add(keyKind <= 1);
    }
    ByteArrayOutputStream file = new ByteArrayOutputStream();
    for (byte[] l : lines) {
      file.write(l);
      file.write(r.nextInt(5) == 0 ? "\r\n".getBytes(StandardCharsets.US_ASCII) : new byte[] {'\n'});
    }
    LineReader reader = new LineReader(new ChoppyStream(file.toByteArray(), r));
    FastGenerateLine fast = new FastGenerateLine(JobStore.jsonString(MODEL));
    EmulatorResponder.Prompt prompt = new EmulatorResponder.Prompt();
    int n = 0;
    int taken = 0;
    while (reader.next()) {
      int index = n++;
      assertArrayEquals(lines.get(index), java.util.Arrays.copyOfRange(reader.array, reader.offset, reader.offset + reader.length), "line " + index + " as read");
      byte[] expected = general(reader.array, reader.offset, reader.length);
      boolean took = fast.parse(reader.array, reader.offset, reader.length, prompt) && prompt.hasContents;
      if (plainKey.get(index)) {
        assertTrue(took, () -> "the fast reader left line " + index + " to the general way: " + head(lines.get(index)));
      }
      if (took) {
        taken++;
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        fast.writeResponse(prompt, got);
        assertArrayEquals(expected, got.toByteArray(), () -> "line " + index + " (" + lines.get(index).length + " bytes): " + head(lines.get(index)));
      }
    }
    assertEquals(lines.size(), n);
    assertTrue(taken > lines.size() / 3, "taken " + taken + " of " + n);
  }

  /**
   * A valid generate line whose text part is about {@code size} bytes. keyKind: 0 plain string
   * key, 1 none, 2 numeric, 3 with an escape. variant: 0 one text, 1 two parts, 2 two contents and
   * a system instruction, 3 snake_case names with white space.
   */
  static byte[] line(SplittableRandom r, int size, int keyKind, int variant) {
    String text = text(r, size);
    String key;
    switch (keyKind) {
      case 0:
        key = "\"key\":\"k-" + r.nextInt(1_000_000) + " ~!#\",";
        break;
      case 1:
        key = "";
        break;
      case 2:
        key = "\"key\":" + r.nextInt(1_000_000) + ",";
        break;
      default:
        key = "\"key\":\"k\\u00e9\\\"" + r.nextInt(1000) + "\",";
    }
    String request;
    switch (variant) {
      case 0:
        request = "{\"contents\":[{\"parts\":[{\"text\":\"" + text + "\"}],\"role\":\"user\"}]}";
        break;
      case 1:
        request = "{\"contents\":[{\"parts\":[{\"text\":\"" + text + "\"},{\"text\":\"" + text(r, 1 + r.nextInt(40)) + "\"}]}]}";
        break;
      case 2:
        request = "{\"systemInstruction\":{\"parts\":[{\"text\":\"" + text(r, 1 + r.nextInt(300)) + "\"}]},"
            + "\"contents\":[{\"parts\":[{\"text\":\"" + text(r, 1 + r.nextInt(300)) + "\"}]},"
            + "{\"parts\":[{\"text\":\"" + text + "\"}]}],\"generationConfig\":{\"temperature\":0.5}}";
        break;
      default:
        request = "{ \"system_instruction\" : { \"parts\" : [ { \"text\" : \"s\" } ] } , \"contents\" : [ { \"parts\" : [ { \"text\" : \"" + text + "\" } ] } ] }";
    }
    return ("{" + key + "\"request\":" + request + "}").getBytes(StandardCharsets.UTF_8);
  }

  private static final String[] PIECES = {
    "a", "b", " ", "Z", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\u00e9", "\\ud83d\\ude00", "\\u0001",
    "é", "日", "😀", "𝄞", "~", "<", "'",
  };

  /** About {@code size} bytes of a JSON string body: mostly ASCII, with escapes and UTF-8 of 2 to 4 bytes. */
  static String text(SplittableRandom r, int size) {
    StringBuilder sb = new StringBuilder(size + 16);
    int bytes = 0;
    boolean plain = r.nextInt(3) == 0;
    while (bytes < size) {
      String piece = plain || r.nextInt(4) != 0 ? String.valueOf((char) ('a' + r.nextInt(26))) : PIECES[r.nextInt(PIECES.length)];
      int n = piece.getBytes(StandardCharsets.UTF_8).length;
      if (bytes + n > size) {
        piece = "x";
        n = 1;
      }
      sb.append(piece);
      bytes += n;
    }
    return sb.toString();
  }

  private static byte[] general(byte[] b, int off, int len) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    boolean success;
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.setRootValueSeparator(null);
      success = JobStore.writeLine(Job.Kind.GENERATE, MODEL, null, b, off, len, g, false, new EmulatorResponder.Prompt());
      g.writeRaw('\n');
    }
    assertTrue(success, () -> out.toString(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static String head(byte[] line) {
    String s = new String(line, StandardCharsets.UTF_8);
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  /** Hands its bytes out in reads of random sizes, as a socket or a file system may. */
  static final class ChoppyStream extends InputStream {
    private final ByteArrayInputStream in;
    private final SplittableRandom r;

    ChoppyStream(byte[] data, SplittableRandom r) {
      this.in = new ByteArrayInputStream(data);
      this.r = r;
    }

    @Override
    public int read() {
      return in.read();
    }

    @Override
    public int read(byte[] b, int off, int len) {
      int n = r.nextInt(4) == 0 ? len : 1 + r.nextInt(Math.max(1, Math.min(len, 70_000)));
      return in.read(b, off, Math.min(len, n));
    }
  }
}
