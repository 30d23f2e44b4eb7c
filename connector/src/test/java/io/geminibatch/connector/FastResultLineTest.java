package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.ApiStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link FastResultLine} against the general reader (Jackson, {@code AwaitJobFn.visitLineGenerally}):
 * on every line it takes, the same key, the same response bytes and the same token counts, and no
 * error. Lines as the service writes them (either field order, escapes and every width of UTF-8
 * in the text, spaces), and thousands of random edits of them (a byte replaced, inserted or
 * removed; cut short), which it must either read exactly as Jackson does or leave to Jackson.
 */
class FastResultLineTest {
  private static final GenerateKind KIND = new GenerateKind(null, null);

  /** What the general reader saw of a line. */
  private static final class Seen {
    String key;
    GenerateResponse response;
    ApiStatus error;
  }

  private static Seen generally(byte[] line, int off, int len) throws IOException {
    Seen seen = new Seen();
    AwaitJobFn.visitLineGenerally(KIND, 0, line, off, len, true, (position, key, partial, raw, start, end, error) -> {
      seen.key = key;
      seen.error = error;
      if (error == null) {
        seen.response = KIND.toOutput(key, partial, raw, start, end, "batches/j");
      }
    });
    return seen;
  }

  /** Asserts the fast reader agrees with the general one; returns whether it took the line. */
  private static boolean agree(FastResultLine fast, byte[] line, int off, int len) throws IOException {
    boolean took = fast.scan(line, off, len);
    if (!took) {
      return false;
    }
    Seen seen = generally(line, off, len);
    String what = new String(line, off, len, StandardCharsets.UTF_8);
    assertNull(seen.error, what);
    assertEquals(seen.key, fast.key(), what);
    GenerateResponse mine =
        KIND.toOutput(
            fast.key(),
            KIND.fromUsage(fast.promptTokens, fast.candidatesTokens, fast.totalTokens),
            line,
            fast.responseStart,
            fast.responseEnd,
            "batches/j");
    assertArrayEquals(seen.response.getResponseJsonUtf8(), mine.getResponseJsonUtf8(), what);
    assertEquals(seen.response.getPromptTokenCount(), mine.getPromptTokenCount(), what);
    assertEquals(seen.response.getCandidatesTokenCount(), mine.getCandidatesTokenCount(), what);
    assertEquals(seen.response.getTotalTokenCount(), mine.getTotalTokenCount(), what);
    return true;
  }

  private static String text(Random r, int n) {
    String[] pieces = {"a", "Z", " ", "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d\\ude00", "é", "€", "😀", "ß", "/", "\\/", "{", "}", "[", "]", ":", ","};
    StringBuilder sb = new StringBuilder();
    while (sb.length() < n) {
      sb.append(pieces[r.nextInt(pieces.length)]);
    }
    return sb.toString();
  }

  private static List<String> serviceLines(Random r) {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      String response =
          "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"" + text(r, r.nextInt(200)) + "\"}],\"role\":\"model\"},"
              + "\"finishReason\":\"STOP\",\"index\":0,\"safetyRatings\":[],\"avgLogprobs\":-0.25e-3}],"
              + (r.nextInt(5) == 0 ? "" : "\"usageMetadata\":{\"promptTokenCount\":" + r.nextInt(100000)
                  + ",\"candidatesTokenCount\":" + r.nextInt(100000) + ",\"totalTokenCount\":" + (long) r.nextInt(1 << 30) * 1000
                  + ",\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":7}]},")
              + "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r" + i + "\",\"flag\":true,\"none\":null,\"no\":false}";
      String key = r.nextBoolean() ? "gemini-batch-" + i : "prompts.txt:line-" + i + "-0123abcd~!@#$%^&*()";
      String line =
          r.nextBoolean()
              ? "{\"response\":" + response + ",\"key\":\"" + key + "\"}"
              : "{\"key\":\"" + key + "\",\"response\":" + response + "}";
      if (i % 7 == 0) {
        line = line.replace(",\"", " , \"").replace("\":", "\" : ");
      }
      lines.add(line);
    }
    lines.add("{\"key\":\"k\",\"response\":{}}");
    lines.add("{\"key\":\"k\",\"response\":{\"usageMetadata\":{}}}");
    lines.add("{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"totalTokenCount\":-0}}}");
    lines.add("{\"key\":\"k\",\"response\":{\"a\":[[[[[[1,2.5,-3E+7,0.0e-0]]]]]]}}");
    return lines;
  }

  @Test
  void takesTheServicesLinesAndReadsThemAsJacksonDoes() throws IOException {
    FastResultLine fast = new FastResultLine();
    Random r = new Random(18);
    for (String s : serviceLines(r)) {
      byte[] line = s.getBytes(StandardCharsets.UTF_8);
      // Inside a larger buffer, as the line reader hands them over.
      byte[] buf = new byte[line.length + 20];
      Arrays.fill(buf, (byte) '#');
      System.arraycopy(line, 0, buf, 7, line.length);
      assertTrue(agree(fast, buf, 7, line.length), s);
    }
  }

  @Test
  void leavesToJacksonWhatItCannotBeSureOf() throws IOException {
    FastResultLine fast = new FastResultLine();
    String[] others = {
      "{\"key\":\"k\",\"error\":{\"code\":3,\"message\":\"bad\"}}",
      "{\"key\":\"k\",\"response\":{},\"error\":{\"code\":3}}",
      "{\"key\":\"k\\u0041\",\"response\":{}}",
      "{\"key\":\"é\",\"response\":{}}",
      "{\"key\":7,\"response\":{}}",
      "{\"key\":\"k\",\"key\":\"l\",\"response\":{}}",
      "{\"key\":\"k\",\"response\":{},\"response\":{}}",
      "{\"response\":{}}",
      "{\"key\":\"k\"}",
      "{\"key\":\"k\",\"response\":[]}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"promptTokenCount\":\"12\"}}}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"promptTokenCount\":12.0}}}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"promptTokenCount\":1e3}}}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"promptTokenCount\":012}}}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"promptTokenCount\":1234567890123456789}}}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":{\"promptTokenCount\":1,\"promptTokenCount\":2}}}",
      "{\"key\":\"k\",\"response\":{\"usageMetadata\":null}}",
      "{\"key\":\"k\",\"response\":{}}\r",
      "{\"key\":\"k\",\"response\":{}} x",
      "{\"key\":\"k\",\t\"response\":{}}",
      "{\"key\":\"k\",\"response\":{\"t\":\"\\x\"}}",
      "{\"key\":\"k\",\"response\":{\"t\":01}}",
      "{\"key\":\"k\",\"response\":{\"t\":1.}}",
      "{\"key\":\"k\",\"response\":{\"t\":NaN}}",
      "{\"key\":\"k\",\"response\":{\"t\":[1,]}}",
      "{\"key\":\"k\",\"response\":{\"t\":" + "[".repeat(300) + "]".repeat(300) + "}}",
    };
    for (String s : others) {
      byte[] line = s.getBytes(StandardCharsets.UTF_8);
      assertFalse(fast.scan(line, 0, line.length), s);
    }
    // Malformed UTF-8 in a string: overlong, a surrogate, past U+10FFFF, a lone continuation, cut.
    for (byte[] bad : new byte[][] {{(byte) 0xc0, (byte) 0x80}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
        {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0x80}, {(byte) 0xe2, (byte) 0x82}}) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes("{\"key\":\"k\",\"response\":{\"t\":\"".getBytes(StandardCharsets.UTF_8));
      out.writeBytes(bad);
      out.writeBytes("\"}}".getBytes(StandardCharsets.UTF_8));
      byte[] line = out.toByteArray();
      assertFalse(fast.scan(line, 0, line.length), Arrays.toString(bad));
    }
  }

  @Test
  void aByteThatNeedsALookIsFoundAtEveryOffsetOfTheEightByteScan() throws IOException {
    FastResultLine fast = new FastResultLine();
    String[] specials = {"\\n", "\\\"", "é", "😀", "\u0001", "\u001f", "\u007f", " ", "\""};
    for (int n = 0; n <= 40; n++) {
      for (int at = 0; at <= n; at++) {
        for (String special : specials) {
          String text = "a".repeat(at) + special + "b".repeat(n - at);
          String line = "{\"key\":\"k\",\"response\":{\"t\":\"" + text + "\",\"usageMetadata\":{\"totalTokenCount\":" + n + "}}}";
          byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
          boolean took = agree(fast, bytes, 0, bytes.length);
          // A raw control character or a quote inside the text is not JSON; the rest is.
          boolean valid = !special.equals("\u0001") && !special.equals("\u001f") && !special.equals("\"");
          assertEquals(valid, took, line);
          if (took) {
            assertEquals(n, fast.totalTokens);
          }
        }
      }
    }
  }

  @Test
  void randomEditsAreReadAsJacksonReadsThemOrLeftToIt() throws IOException {
    FastResultLine fast = new FastResultLine();
    Random r = new Random(1812);
    List<String> base = serviceLines(r);
    byte[] alphabet = "{}[]\",:\\ 0123456789-+.eEtrufalsnkyp\t\r\u0001".getBytes(StandardCharsets.UTF_8);
    int took = 0;
    int left = 0;
    for (int i = 0; i < 20000; i++) {
      byte[] line = base.get(r.nextInt(base.size())).getBytes(StandardCharsets.UTF_8);
      int edits = 1 + r.nextInt(2);
      for (int e = 0; e < edits && line.length > 0; e++) {
        int at = r.nextInt(line.length);
        byte with = r.nextInt(8) == 0 ? (byte) (0x80 + r.nextInt(0x80)) : alphabet[r.nextInt(alphabet.length)];
        switch (r.nextInt(4)) {
          case 0:
            line[at] = with;
            break;
          case 1:
            byte[] longer = new byte[line.length + 1];
            System.arraycopy(line, 0, longer, 0, at);
            longer[at] = with;
            System.arraycopy(line, at, longer, at + 1, line.length - at);
            line = longer;
            break;
          case 2:
            byte[] shorter = new byte[line.length - 1];
            System.arraycopy(line, 0, shorter, 0, at);
            System.arraycopy(line, at + 1, shorter, at, line.length - at - 1);
            line = shorter;
            break;
          default:
            line = Arrays.copyOf(line, at);
        }
      }
      if (agree(fast, line, 0, line.length)) {
        took++;
      } else {
        left++;
      }
    }
    // Both ways are exercised: edits inside a text mostly leave a line it takes.
    assertTrue(took > 2000, "taken: " + took);
    assertTrue(left > 2000, "left to Jackson: " + left);
    assertNotNull(fast);
  }
}
