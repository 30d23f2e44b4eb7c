package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.EmulatorResponder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --inputFormat} end to end: which lines are sent, and what a bad request line becomes. */
class InputFormatCommandTest {
  @TempDir Path tmp;

  private static final String BROKEN = "{\"key\":\"c\",\"request\":{broken json";
  private static final String NO_KEY =
      "{\"request\":{\"contents\":[{\"parts\":[{\"text\":\"keyless\"}]}]}}";
  private static final String NO_REQUEST = "  {\"key\":\"d\",\"prompt\":\"hi\"}";

  private Path mixed() throws IOException {
    Path input = tmp.resolve("mixed.jsonl");
    Files.write(input, List.of(
        "a plain prompt",
        BROKEN,
        "",
        NO_KEY,
        NO_REQUEST,
        "{\"key\":\"e\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"fine\"}]}]}}"));
    return input;
  }

  @Test
  void autoSendsPromptsAndRequestLinesAndFailsBadRequestLinesWithTheirLineNumbers() throws IOException {
    Path input = mixed();
    Path prefix = tmp.resolve("auto");
    Cli run = GenerateCommandTest.generate(input, prefix);

    Map<String, String> answers =
        Cli.outputs(prefix, "responses").stream()
            .collect(Collectors.toMap(r -> r.get("key").asText(), GenerateCommandTest::answerText));
    assertEquals(
        Map.of(
            InputLines.lineKey("mixed.jsonl", 1, "a plain prompt"), "echo: a plain prompt",
            InputLines.lineKey("mixed.jsonl", 4, NO_KEY), "echo: keyless",
            "e", "echo: fine"),
        answers);
    Map<String, JsonNode> failures =
        Cli.outputs(prefix, "failures").stream().collect(Collectors.toMap(f -> f.get("key").asText(), Function.identity()));
    assertEquals(2, failures.size(), failures.toString());
    JsonNode broken = failures.get("c");
    assertEquals("VALIDATE", broken.get("stage").asText());
    assertEquals(3, broken.get("code").asInt());
    assertEquals(0, broken.get("attempts").asInt());
    assertTrue(broken.get("jobName").isNull());
    assertTrue(broken.get("message").asText().startsWith("mixed.jsonl line 2: not a request line"), broken.toString());
    assertTrue(broken.get("message").asText().contains("Unexpected character ('b'"), broken.toString());
    assertTrue(failures.get("d").get("message").asText().startsWith("mixed.jsonl line 5: "), failures.toString());
    assertTrue(run.err.contains("3 responses, 2 failures"), run.err);
  }

  @Test
  void textSendsEveryLineAsAPromptAndJsonlEveryLineAsARequestLine() throws IOException {
    Path input = mixed();
    Path text = tmp.resolve("text");
    GenerateCommandTest.generate(input, text, "--inputFormat=text");
    assertEquals(5, Cli.outputs(text, "responses").size());
    assertEquals(List.of(), Cli.outputs(text, "failures"));
    JsonNode asPrompt =
        Cli.outputs(text, "responses").stream()
            .filter(r -> r.get("key").asText().equals(InputLines.lineKey("mixed.jsonl", 2, BROKEN)))
            .findFirst()
            .orElseThrow();
    assertEquals(EmulatorResponder.ANSWER_PREFIX + BROKEN, GenerateCommandTest.answerText(asPrompt));

    Path jsonl = tmp.resolve("jsonl");
    Cli run = GenerateCommandTest.generate(input, jsonl, "--inputFormat=jsonl");
    assertEquals(2, Cli.outputs(jsonl, "responses").size());
    List<JsonNode> failures = Cli.outputs(jsonl, "failures");
    assertEquals(3, failures.size(), failures.toString());
    assertTrue(
        failures.stream().anyMatch(f -> f.get("key").asText().equals(InputLines.lineKey("mixed.jsonl", 1, "a plain prompt"))
            && f.get("message").asText().startsWith("mixed.jsonl line 1: not a request line")),
        failures.toString());
    assertTrue(run.err.contains("2 responses, 3 failures"), run.err);
  }

  @Test
  void embedFollowsTheSameRules() throws IOException {
    Path input = tmp.resolve("texts.jsonl");
    String keyless = "{\"request\":{\"content\":{\"parts\":[{\"text\":\"keyless\"}]}}}";
    Files.write(input, List.of("a text", BROKEN, keyless));
    Path dir = tmp.resolve("vectors");
    Cli run = Cli.run(Cli.NO_KEY, "embed", "--input=" + input, "--output=" + dir + "/", "--outputDimensionality=8");
    assertEquals(0, run.status, run.toString());
    assertEquals(
        java.util.Set.of(InputLines.lineKey("texts.jsonl", 1, "a text"), InputLines.lineKey("texts.jsonl", 3, keyless)),
        Cli.outputsIn(dir, "responses").stream().map(r -> r.get("key").asText()).collect(Collectors.toSet()));
    List<JsonNode> failures = Cli.outputsIn(dir, "failures");
    assertEquals(1, failures.size(), failures.toString());
    assertEquals("VALIDATE", failures.get(0).get("stage").asText());
    assertEquals(3, failures.get(0).get("code").asInt());
    assertTrue(failures.get(0).get("message").asText().startsWith("texts.jsonl line 2: "), failures.toString());

    Cli bad = Cli.run(Cli.NO_KEY, "embed", "--input=" + input, "--output=" + dir + "/", "--inputFormat=yaml");
    assertEquals(2, bad.status, bad.toString());
    assertTrue(bad.err.contains("--inputFormat: expected auto, text or jsonl, got 'yaml'"), bad.err);
  }
}
