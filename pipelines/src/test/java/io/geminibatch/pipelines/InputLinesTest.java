package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** How an input line becomes a keyed prompt or request. */
class InputLinesTest {

  @Test
  void aPlainLineIsAPromptKeyedByFileLineAndHash() {
    InputLines.Line line = InputLines.parse("prompts.txt", 1, "Why is the sky blue? Answer in two sentences.");
    // d07046eb: the first 4 bytes of SHA-256 of the line.
    assertEquals("prompts.txt:line-1-d07046eb", line.key);
    assertEquals("Why is the sky blue? Answer in two sentences.", line.prompt);
    assertNull(line.requestJson);
  }

  @Test
  void aJsonObjectWithKeyAndRequestIsARequestSentAsItIs() {
    InputLines.Line snake =
        InputLines.parse("a.jsonl", 3,
            "{\"key\": \"request-1\", \"request\": {\"contents\": [{\"parts\": [{\"text\": \"hi\"}]}], \"generation_config\": {\"temperature\": 0.7}}}");
    assertEquals("request-1", snake.key);
    assertNull(snake.prompt);
    // The line's own text of the request: never parsed into a tree and written again.
    assertEquals("{\"contents\": [{\"parts\": [{\"text\": \"hi\"}]}], \"generation_config\": {\"temperature\": 0.7}}", snake.requestJson);

    InputLines.Line numberKey = InputLines.parse("a.jsonl", 1, "  {\"request\": {\"contents\": []}, \"key\": 42}");
    assertEquals("42", numberKey.key);
  }

  @Test
  void aBadKeyIsKeptForTheConnectorToRejectWithItsReason() {
    InputLines.Line line = InputLines.parse("a.jsonl", 1, "{\"key\": null, \"request\": {}}");
    assertEquals("", line.key);
    assertEquals("{}", line.requestJson);
  }

  @Test
  void otherJsonAndBrokenJsonArePlainPrompts() {
    String noRequest = "{\"key\": \"k\", \"prompt\": \"hi\"}";
    assertEquals(noRequest, InputLines.parse("p.txt", 2, noRequest).prompt);
    String broken = "{\"key\": \"k\", \"request\": {}} trailing";
    assertEquals(broken, InputLines.parse("p.txt", 2, broken).prompt);
    assertEquals(InputLines.lineKey("p.txt", 2, broken), InputLines.parse("p.txt", 2, broken).key);
  }

  @Test
  void blankLinesAreSkipped() {
    assertNull(InputLines.parse("p.txt", 5, "   "));
    assertNull(InputLines.parse("p.txt", 6, ""));
  }
}
