package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast reader of generate lines against the general way (Jackson) on valid lines and on many
 * random corruptions of them: whenever the fast reader takes a line, its result line must be the
 * general way's, byte for byte.
 */
class FastGenerateLineTest {
  private static final String[] LINES = {
    "{\"key\":\"k-1\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"hello world, a prompt\"}],\"role\":\"user\"}]}}",
    "  { \"request\" : { \"contents\" : [ { \"role\" : \"user\" , \"parts\" : [ { \"text\" : \"a\" } , { \"text\" : \"b\" } ] } ] } , \"key\" : \"k 2\" }  ",
    "{\"request\":{\"contents\":[{\"parts\":[{\"text\":\"no key\"}]}]}}",
    "{\"key\":\"k\",\"request\":{\"system_instruction\":{\"parts\":[{\"text\":\"be brief\"}]},\"contents\":[{\"parts\":[{\"text\":\"q1\"}]},{\"parts\":[{\"text\":\"a1\"}],\"role\":\"model\"},{\"parts\":[{\"text\":\"q2\"},{\"inlineData\":{\"mimeType\":\"x\",\"data\":\"AAAA\"}}]}]}}",
    "{\"key\":\"e\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"line\\nbreak \\\"quoted\\\" \\u00e9 \\ud83d\\ude00 tab\\t\\/ \\\\ end\"}]}]}}",
    "{\"key\":\"u\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"héllo wörld 😀 日本語 ascii ascii ascii\"}]}]}}",
    "{\"key\":\"g\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":{\"temperature\":0.5,\"topP\":1e-3,\"maxOutputTokens\":10,\"stop\":[\"a\",\"b\"],\"x\":[1,-2E+5,0,-0.25,true,false,null,{},[]]}},\"extra\":{\"a\":[1,2,{\"b\":null}]}}",
    "{\"key\":\"d\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"first\"}]}]},\"request\":{\"contents\":[{\"parts\":[{\"text\":\"second\"}]}]}}",
    "{\"key\":\"n\",\"request\":{\"contents_\":[{\"parts\":[{\"text\":\"underscore\"}]}],\"systemInstruction\":{\"parts\":[{\"text\":\"s\"},{\"text\":5}]}}}",
    "{\"key\":\"m\",\"request\":{\"contents\":[1,\"x\",null,{\"parts\":[{\"text\":\"after junk\"},7,\"s\"]},{\"parts\":{}}]}}",
    "{\"key\":\"z\",\"request\":{\"contents\":[]}}",
    "{\"key\":\"z2\",\"request\":{}}",
    "{\"key\":\"z3\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"\"}]}]}} trailing ignored",
    "{\"key\":\"~!@#$%^&*()_+`-=[]{}|;:',./<>?\u007f\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"k\"}]}]}}",
    "{\"key\":7,\"request\":{\"contents\":[{\"parts\":[{\"text\":\"numeric key\"}]}]}}",
    "{\"contents\":[{\"parts\":[{\"text\":\"bare request\"}]}]}",
    "{\"key\":\"w\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"}]}]}}",
  };

  private static final byte[] INSERTS = "{}[]\":,\\ u0aA\t\r\u0001/-.e1tfn'".getBytes(StandardCharsets.UTF_8);

  private static final String MODEL = "gemini-2.5-flash";

  @Test
  void fastLinesAreTheGeneralWaysByteForByte() throws Exception {
    FastGenerateLine fast = new FastGenerateLine(JobStore.jsonString(MODEL));
    EmulatorResponder.Prompt prompt = new EmulatorResponder.Prompt();
    List<byte[]> corpus = new ArrayList<>();
    for (String l : LINES) {
      corpus.add(l.getBytes(StandardCharsets.UTF_8));
    }
    Random r = new Random(7);
    int taken = 0;
    int takenMutated = 0;
    for (int round = 0; round < 300_000; round++) {
      byte[] line;
      boolean mutated = round >= corpus.size();
      if (!mutated) {
        line = corpus.get(round);
      } else {
        line = mutate(r, corpus.get(r.nextInt(corpus.size())));
      }
      // the line sits inside a larger array, as in the reader's buffer
      byte[] buf = new byte[line.length + 16];
      Arrays.fill(buf, (byte) '"');
      System.arraycopy(line, 0, buf, 5, line.length);
      if (fast.parse(buf, 5, line.length, prompt) && prompt.hasContents) {
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        fast.writeResponse(prompt, written);
        byte[] got = written.toByteArray();
        byte[] expected = general(buf, 5, line.length);
        assertArrayEquals(
            expected, got, () -> "line: " + new String(line, StandardCharsets.UTF_8)
                + "\nexpected: " + new String(expected, StandardCharsets.UTF_8)
                + "\ngot:      " + new String(got, StandardCharsets.UTF_8));
        taken++;
        if (mutated) {
          takenMutated++;
        }
      }
    }
    assertTrue(taken > 1000 && takenMutated > 1000, taken + " / " + takenMutated);
  }

  private static byte[] general(byte[] b, int off, int len) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    boolean success;
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.setRootValueSeparator(null);
      success =
          JobStore.writeLine(
              Job.Kind.GENERATE, MODEL, null, b, off, len, g, false,
              new EmulatorResponder.Prompt());
      g.writeRaw('\n');
    }
    assertTrue(success, () -> out.toString(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static byte[] mutate(Random r, byte[] line) {
    byte[] b = line;
    int edits = 1 + r.nextInt(3);
    for (int e = 0; e < edits; e++) {
      int at = r.nextInt(b.length + 1);
      switch (r.nextInt(4)) {
        case 0: // delete
          if (at < b.length) {
            byte[] c = new byte[b.length - 1];
            System.arraycopy(b, 0, c, 0, at);
            System.arraycopy(b, at + 1, c, at, b.length - at - 1);
            b = c;
          }
          break;
        case 1: // insert
        case 2:
          {
            byte[] c = new byte[b.length + 1];
            System.arraycopy(b, 0, c, 0, at);
            c[at] = r.nextInt(10) == 0 ? (byte) r.nextInt(256) : INSERTS[r.nextInt(INSERTS.length)];
            System.arraycopy(b, at, c, at + 1, b.length - at);
            b = c;
          }
          break;
        default: // replace
          if (at < b.length) {
            b = b.clone();
            b[at] = r.nextInt(10) == 0 ? (byte) r.nextInt(256) : INSERTS[r.nextInt(INSERTS.length)];
          }
      }
    }
    return b;
  }
}
