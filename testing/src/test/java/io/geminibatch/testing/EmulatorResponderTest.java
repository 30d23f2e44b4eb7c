package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The deterministic responder's documented functions. */
class EmulatorResponderTest {

  @Test
  void answersEchoTheTextOfTheLastContent() {
    String req =
        "{\"contents\": [{\"parts\": [{\"text\": \"ignored\"}]},"
            + " {\"parts\": [{\"text\": \"a\"}, {\"inlineData\": {\"mimeType\": \"image/png\", \"data\": \"AA==\"}}, {\"text\": \"b\"}]}]}";
    assertEquals("echo: ab", EmulatorResponder.generateText(req));
    assertEquals("echo: ", EmulatorResponder.generateText("{\"contents\": [{\"role\": \"user\"}]}"));
  }

  @Test
  void tokenCountsAreCeilingsOfCodePointsOverFour() {
    // 8 code points in contents + 5 in system_instruction (snake_case) = 13 → 4; "echo: " + 😀x = 8 → 2.
    String req =
        "{\"system_instruction\": {\"parts\": [{\"text\": \"sys12\"}]},"
            + " \"contents\": [{\"parts\": [{\"text\": \"abcdef\"}]}, {\"parts\": [{\"text\": \"😀x\"}]}]}";
    assertArrayEquals(new long[] {4, 2, 6}, EmulatorResponder.tokenCounts(req));
    assertArrayEquals(new long[] {1, 2, 3}, EmulatorResponder.tokenCounts("{\"contents\": [{\"parts\": []}]}"));
  }

  @Test
  void escapedTextIsAnsweredDecodedAndCountedInCodePoints() throws Exception {
    // \n, \", \u00e9 and a surrogate pair written as two escapes: 1 + 1 + 1 + 1 code points.
    String req = "{\"contents\": [{\"parts\": [{\"text\": \"a\\n\\\"\\u00e9\\ud83d\\ude00\"}]}]}";
    String answer = EmulatorResponder.generateText(req);
    assertEquals("echo: a\n\"é😀", answer);
    assertArrayEquals(new long[] {2, 3, 5}, EmulatorResponder.tokenCounts(req)); // 5 → 2; 6 + 5 = 11 → 3
    JsonNode r = Http.JSON.readTree(EmulatorResponder.generateContentResponse(req, "gemini-x"));
    assertEquals(answer, r.get("candidates").get(0).get("content").get("parts").get(0).get("text").asText());
    assertEquals(EmulatorResponder.responseId(answer), r.get("responseId").asText());
  }

  @Test
  void requestsWithoutContentsAreRejectedWithTheErrorLineMessage() {
    for (String req : new String[] {"{}", "{\"contents\": []}", "{\"contents\": {}}"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> EmulatorResponder.generateText(req));
      assertEquals(EmulatorResponder.MISSING_CONTENTS_MESSAGE, e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> EmulatorResponder.generateText("{not json"));
  }

  @Test
  void theResponseHasTheLiveShape() throws Exception {
    JsonNode r =
        Http.JSON.readTree(EmulatorResponder.generateContentResponse(Http.request("hi"), "models/gemini-2.5-flash"));
    JsonNode candidate = r.get("candidates").get(0);
    assertEquals("echo: hi", candidate.get("content").get("parts").get(0).get("text").asText());
    assertEquals("model", candidate.get("content").get("role").asText());
    assertEquals("STOP", candidate.get("finishReason").asText());
    assertEquals(0, candidate.get("index").asInt());
    assertEquals(3, r.get("usageMetadata").get("totalTokenCount").asInt());
    assertEquals("gemini-2.5-flash", r.get("modelVersion").asText());
    assertEquals(EmulatorResponder.responseId("echo: hi"), r.get("responseId").asText());
    assertTrue(r.get("responseId").asText().matches("[A-Za-z0-9_-]{23}"));
  }

  @Test
  void embeddingsAreDeterministicUnitVectorsWithNormalisedPrefixes() {
    float[] v = EmulatorResponder.embedding("hello");
    assertEquals(EmulatorResponder.DEFAULT_EMBEDDING_DIMENSIONS, v.length);
    assertArrayEquals(v, EmulatorResponder.embedding("hello", 768));
    assertNotEquals(Arrays.toString(v), Arrays.toString(EmulatorResponder.embedding("hello!")));
    for (int dims : new int[] {1, 16, 3072}) {
      float[] w = EmulatorResponder.embedding("hello", dims);
      double norm = 0;
      for (float f : w) {
        norm += (double) f * f;
      }
      assertEquals(1.0, norm, 1e-5, "unit norm at " + dims);
    }
    float[] small = EmulatorResponder.embedding("hello", 2);
    assertEquals(v[0] / v[1], small[0] / small[1], 1e-4, "a shorter vector is the normalised prefix");
    assertThrows(IllegalArgumentException.class, () -> EmulatorResponder.embedding("x", 0));
    assertThrows(IllegalArgumentException.class, () -> EmulatorResponder.embedding("x", 3073));
  }

  @Test
  void embedContentHonoursOutputDimensionalityAndRejectsBadRequests() {
    assertArrayEquals(
        EmulatorResponder.embedding("ab", 10),
        EmulatorResponder.embedContent(
            "{\"content\": {\"parts\": [{\"text\": \"a\"}, {\"text\": \"b\"}]}, \"outputDimensionality\": 10}"));
    assertThrows(IllegalArgumentException.class, () -> EmulatorResponder.embedContent("{\"content\": {\"parts\": []}}"));
    assertThrows(
        IllegalArgumentException.class,
        () -> EmulatorResponder.embedContent("{\"content\": {\"parts\": [{\"text\": \"a\"}]}, \"output_dimensionality\": 0}"));
  }
}
