package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The quick way of quoting text gives Jackson's bytes, whatever the text. */
class JsonTest {
  @Test
  void everyByteThatNeedsEscapingIsFoundWhereverItIs() {
    byte[] special = {0, 1, 0x1f, '"', '\\', 0x20, 0x21, 0x5b, 0x5d, 0x7f, (byte) 0x80, (byte) 0xc3, (byte) 0xff};
    for (int length = 0; length <= 20; length++) {
      for (int at = 0; at < length; at++) {
        for (byte b : special) {
          byte[] text = new byte[length];
          java.util.Arrays.fill(text, (byte) 'a');
          text[at] = b;
          boolean expected = (b >= 0 && b < 0x20) || b == '"' || b == '\\';
          assertEquals(expected, Json.needsEscape(text), "byte " + b + " at " + at + " of " + length);
        }
      }
    }
  }

  @Test
  void quotedTextIsWhatJacksonWrites() {
    SplittableRandom random = new SplittableRandom(3);
    String alphabet = "abc \"\\\n\t\u0001é€😀/<>";
    for (int i = 0; i < 2000; i++) {
      StringBuilder s = new StringBuilder();
      for (int n = random.nextInt(40); n > 0; n--) {
        s.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, random.nextInt(alphabet.codePointCount(0, alphabet.length())))));
      }
      byte[] jackson = JsonStringEncoder.getInstance().quoteAsUTF8(s.toString());
      byte[] expected = new byte[jackson.length + 2];
      expected[0] = '"';
      System.arraycopy(jackson, 0, expected, 1, jackson.length);
      expected[expected.length - 1] = '"';
      assertArrayEquals(expected, Json.quoteUtf8(s.toString()), s.toString());
      assertEquals(new String(expected, StandardCharsets.UTF_8), Json.quote(s.toString()));
    }
  }
}
