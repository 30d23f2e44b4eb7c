package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
  void aRequestLineThatDoesNotParseIsAFailureWithItsLineNumberNeverAPrompt() {
    InputLines.Line broken = InputLines.parse("in.jsonl", 7, "{\"key\":\"c\",\"request\":{broken json");
    assertNull(broken.prompt);
    assertNull(broken.requestJson);
    assertEquals("c", broken.key, "the key the line gives, when the parser got that far");
    assertTrue(broken.error.startsWith("in.jsonl line 7: not a request line"), broken.error);
    assertTrue(broken.error.contains("invalid JSON: Unexpected character ('b'"), broken.error);
    assertTrue(broken.error.contains("(column 23)"), broken.error);

    InputLines.Line trailing = InputLines.parse("in.jsonl", 2, "{\"key\": \"k\", \"request\": {}} trailing");
    assertEquals("k", trailing.key, "the key it gave, when it got that far");
    assertTrue(trailing.error.contains("line 2"), trailing.error);

    InputLines.Line noRequest = InputLines.parse("in.jsonl", 3, "{\"key\": \"k\", \"prompt\": \"hi\"}");
    assertTrue(noRequest.error.endsWith("no \"request\" member"), noRequest.error);
    InputLines.Line early = InputLines.parse("in.jsonl", 5, "{\"ke");
    assertEquals(InputLines.lineKey("in.jsonl", 5, "{\"ke"), early.key, "else the line key a prompt would get");
    assertNull(noRequest.prompt);
  }

  @Test
  void aRequestLineWithoutKeyGetsTheLineKeyOfAPrompt() {
    String text = "{\"request\": {\"contents\": [{\"parts\": [{\"text\": \"hi\"}]}]}}";
    InputLines.Line line = InputLines.parse("in.jsonl", 4, text);
    assertNull(line.error);
    assertEquals(InputLines.lineKey("in.jsonl", 4, text), line.key);
    assertEquals("{\"contents\": [{\"parts\": [{\"text\": \"hi\"}]}]}", line.requestJson);
  }

  @Test
  void theFormatSaysWhichLinesAreRequestLines() throws UsageException {
    String json = "{\"key\": \"k\", \"request\": {}}";
    assertEquals(json, InputLines.parse(InputLines.Format.TEXT, "p.txt", 1, json).prompt);
    assertEquals("{}", InputLines.parse(InputLines.Format.AUTO, "p.txt", 1, "  " + json).requestJson);
    assertEquals("why?", InputLines.parse(InputLines.Format.AUTO, "p.txt", 1, "why?").prompt);
    InputLines.Line notJson = InputLines.parse(InputLines.Format.JSONL, "p.jsonl", 9, "why?");
    assertTrue(notJson.error.startsWith("p.jsonl line 9: not a request line"), notJson.error);
    InputLines.Line array = InputLines.parse(InputLines.Format.JSONL, "p.jsonl", 1, "[1]");
    assertTrue(array.error.endsWith("not a JSON object"), array.error);
    assertEquals(InputLines.Format.JSONL, InputLines.Format.parse("jsonl"));
    assertEquals(InputLines.Format.TEXT, InputLines.Format.parse("Text"));
    UsageException e = assertThrows(UsageException.class, () -> InputLines.Format.parse("csv"));
    assertEquals("--inputFormat: expected auto, text or jsonl, got 'csv'", e.getMessage());
  }

  @Test
  void blankLinesAreSkipped() {
    assertNull(InputLines.parse("p.txt", 5, "   "));
    assertNull(InputLines.parse("p.txt", 6, ""));
  }
}
