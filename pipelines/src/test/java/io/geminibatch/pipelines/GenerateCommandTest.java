package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.EmulatorResponder;
import io.geminibatch.testing.GeminiEmulator;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code generate} end to end, in this JVM, on the example files and Google's own sample. */
class GenerateCommandTest {
  @TempDir Path tmp;

  /** key -> the emulator's answer, for every request line of {@code file}, read as the tool does. */
  static Map<String, String> expectedAnswers(Path file) throws IOException {
    Map<String, String> expected = new HashMap<>();
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      InputLines.Line line = InputLines.parse(file.getFileName().toString(), i + 1, lines.get(i));
      if (line != null) {
        String answer =
            line.requestJson == null
                ? EmulatorResponder.ANSWER_PREFIX + line.prompt
                : EmulatorResponder.generateText(line.requestJson);
        assertEquals(null, expected.put(line.key, answer), "keys of " + file + " are unique");
      }
    }
    return expected;
  }

  static String answerText(JsonNode responseLine) {
    return responseLine.at("/response/candidates/0/content/parts/0/text").asText();
  }

  /** Every key once across both files, and every response the echo of its own prompt. */
  static void assertEchoes(Map<String, String> expected, Path prefix) {
    List<JsonNode> responses = Cli.outputs(prefix, "responses");
    List<JsonNode> failures = Cli.outputs(prefix, "failures");
    assertEquals(List.of(), failures, "failures");
    assertEquals(expected.size(), responses.size());
    for (JsonNode r : responses) {
      String key = r.get("key").asText();
      assertEquals(expected.get(key), answerText(r), key);
    }
    assertEquals(expected.keySet(), responses.stream().map(r -> r.get("key").asText()).collect(Collectors.toSet()));
  }

  /** Runs {@code generate} on {@code input} with no key in the environment; it must succeed. */
  static Cli generate(Path input, Path prefix, String... more) {
    String[] args = new String[more.length + 3];
    args[0] = "generate";
    args[1] = "--input=" + input;
    args[2] = "--output=" + prefix;
    System.arraycopy(more, 0, args, 3, more.length);
    Cli run = Cli.run(Cli.NO_KEY, args);
    assertEquals(0, run.status, run.toString());
    return run;
  }

  @Test
  void examplePromptsAreAnsweredOnTheBuiltInEmulatorWhenThereIsNoKey() throws IOException {
    Path input = Cli.EXAMPLES.resolve("prompts.txt");
    Path prefix = tmp.resolve("out/answers");
    Cli run = generate(input, prefix);

    Map<String, String> expected = expectedAnswers(input);
    assertEquals(20, expected.size());
    assertTrue(expected.containsKey("prompts.txt:line-1-d07046eb"), expected.keySet().toString());
    assertEchoes(expected, prefix);
    assertEquals("", run.out);
    List<String> err = run.errLines();
    assertEquals(1, err.stream().filter(l -> l.contains("built-in Gemini Batch API emulator")).count(), run.err);
    assertTrue(err.get(0).startsWith("gemini-batch: no API key (GEMINI_API_KEY, GOOGLE_API_KEY or --apiKey)"), run.err);
    assertTrue(err.stream().anyMatch(l -> l.matches("gemini-batch: \\[ *[0-9.]+s\\] batches/\\S+ gbio-\\S+ .*")), run.err);
    assertTrue(err.stream().anyMatch(l -> l.matches("gemini-batch: done in [0-9.]+ s: 20 responses, 0 failures; batch jobs submitted: 1")), run.err);
    assertTrue(err.stream().anyMatch(l -> l.contains("estimated cost $") && l.contains("gemini-2.5-flash batch price")), run.err);
    assertTrue(err.stream().allMatch(l -> l.startsWith("gemini-batch: ")), "every line is the tool's own:\n" + run.err);
  }

  @Test
  void aRerunReplacesTheEarlierRunsOutputFilesEvenInADifferentNumberOfFiles() throws IOException {
    Path input = Cli.EXAMPLES.resolve("requests.jsonl");
    Path prefix = tmp.resolve("again");
    generate(input, prefix);
    // As if an earlier run had written more files than this one will.
    Files.writeString(tmp.resolve("again-responses-00007-of-00009.jsonl"), "{\"key\":\"stale\",\"response\":{}}\n");
    Files.writeString(tmp.resolve("again-failures-00003-of-00004.jsonl"), "{\"key\":\"stale\"}\n");
    Path unrelated = tmp.resolve("again-responses-notes.txt");
    Files.writeString(unrelated, "mine");
    Cli run = generate(input, prefix);

    assertEchoes(expectedAnswers(input), prefix);
    assertTrue(run.err.contains("replacing "), run.err);
    assertEquals("mine", Files.readString(unrelated));
  }

  @Test
  void theResponsesTheReadStepWritesAreThoseTheWriteFilesTwinWrites() throws Exception {
    Path input = Cli.EXAMPLES.resolve("requests.jsonl");
    GenerateCommand twin = new GenerateCommand();
    twin.resultFiles = false;
    Path twinPrefix = tmp.resolve("twin");
    try (java.io.PrintStream quiet = new java.io.PrintStream(java.io.OutputStream.nullOutputStream())) {
      assertEquals(0, twin.run(new String[] {"--input=" + input, "--output=" + twinPrefix}, quiet, Cli.NO_KEY));
    }
    Path prefix = tmp.resolve("files");
    generate(input, prefix);
    Map<String, JsonNode> written = new HashMap<>();
    for (JsonNode line : Cli.outputs(prefix, "responses")) {
      assertEquals(null, written.put(line.get("key").asText(), line.get("response").get("candidates")), "one line per key");
    }
    Map<String, JsonNode> expected = new HashMap<>();
    for (JsonNode line : Cli.outputs(twinPrefix, "responses")) {
      expected.put(line.get("key").asText(), line.get("response").get("candidates"));
    }
    assertEquals(expected, written);
    assertEquals(6, written.size());
  }

  @Test
  void exampleRequestsInTheBatchApiFormatKeepTheirKeys() throws IOException {
    Path input = Cli.EXAMPLES.resolve("requests.jsonl");
    Path prefix = tmp.resolve("requests");
    generate(input, prefix);

    Map<String, String> expected = expectedAnswers(input);
    assertEquals(Set.of("photosynthesis", "pizza", "haiku", "json-answer", "pirate", "conversation"), expected.keySet());
    assertEchoes(expected, prefix);
  }

  @Test
  void aMissingInputFileIsAUsageErrorBeforeBeamWalksItsFolder() {
    // Beam's local match of /missing-….txt walks all of "/" for glob matches: the check answers first.
    String missing = "/gemini-batch-missing-" + System.nanoTime() + ".txt";
    assertTrue(BatchCommand.isMissingLocalFile(missing));
    assertTrue(BatchCommand.isMissingLocalFile("file://" + missing));
    assertFalse(BatchCommand.isMissingLocalFile(Cli.EXAMPLES.resolve("prompts.txt").toString()));
    assertFalse(BatchCommand.isMissingLocalFile("/data/*.txt"));
    assertFalse(BatchCommand.isMissingLocalFile("gs://bucket/missing.txt"));

    Cli run = Cli.run(Cli.NO_KEY, "generate", "--input=" + missing, "--output=" + tmp.resolve("none"));
    assertNotEquals(0, run.status, run.toString());
    assertTrue(run.err.contains("--input: no file matches " + missing), run.toString());
  }

  @Test
  void theSameCommandRunsOnFlink() throws IOException {
    Path input = Cli.EXAMPLES.resolve("requests.jsonl");
    Path prefix = tmp.resolve("flink");
    Cli run = generate(input, prefix, "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2");

    assertEchoes(expectedAnswers(input), prefix);
    assertTrue(run.err.contains("6 responses, 0 failures"), run.err);
  }

  @Test
  void googlesSampleEndsAsOneResponsePerKeyAndOneDuplicateKeyFailure() throws URISyntaxException {
    Path input = Path.of(getClass().getResource("/google-batch-example.jsonl").toURI());
    Path prefix = tmp.resolve("google");
    Cli run = generate(input, prefix);

    List<JsonNode> responses = Cli.outputs(prefix, "responses");
    List<JsonNode> failures = Cli.outputs(prefix, "failures");
    Map<String, String> answers =
        responses.stream().collect(Collectors.toMap(r -> r.get("key").asText(), GenerateCommandTest::answerText));
    assertEquals(Set.of("request-1", "request-2"), answers.keySet());
    assertEquals("echo: What are the main ingredients in a Margherita pizza?", answers.get("request-2"));
    // Which of the two request-1 lines is answered is not specified; the answer is its own echo.
    assertTrue(
        Set.of("echo: Describe the process of photosynthesis.",
                "echo: A big letter A surrounded by animals starting with the A letter")
            .contains(answers.get("request-1")),
        answers.get("request-1"));
    assertEquals(1, failures.size(), failures.toString());
    JsonNode f = failures.get(0);
    assertEquals("request-1", f.get("key").asText());
    assertEquals("VALIDATE", f.get("stage").asText());
    assertEquals(6, f.get("code").asInt());
    assertTrue(f.get("message").asText().contains("duplicate key 'request-1'"), f.toString());
    assertTrue(f.get("jobName").isNull());
    assertEquals(0, f.get("attempts").asInt());
    assertTrue(run.err.contains("2 responses, 1 failures"), run.err);
  }

  @Test
  void withAKeyItUsesTheGivenServiceAndNeverPrintsTheKey() throws IOException {
    String key = "sk-test-7d1f0c2a9b";
    try (GeminiEmulator service = GeminiEmulator.builder().apiKey(key).jobLatency(Duration.ofMillis(200)).start()) {
      Path prefix = tmp.resolve("keyed");
      Cli run =
          generate(Cli.EXAMPLES.resolve("prompts.txt"), prefix, "--apiKey=" + key, "--baseUrl=" + service.baseUrl(),
              "--pollInterval=1", "--systemInstruction=Answer briefly.", "--generationConfig={\"temperature\":0.2}");

      assertEquals(1, service.stats().batchesCreated());
      assertFalse(run.err.contains("built-in"), run.err);
      assertFalse(run.out.contains(key) || run.err.contains(key), "the key was printed:\n" + run);
      assertEchoes(expectedAnswers(Cli.EXAMPLES.resolve("prompts.txt")), prefix);
    }
  }

  @Test
  void theSameCommandAfterACompleteRunPaysNothingUntilTheInputChangesOrRunAgainIsGiven() throws IOException {
    String key = "sk-test-done-once";
    try (GeminiEmulator service = GeminiEmulator.builder().apiKey(key).jobLatency(Duration.ofMillis(200)).start()) {
      Path input = tmp.resolve("prompts.txt");
      Files.copy(Cli.EXAMPLES.resolve("prompts.txt"), input);
      Path prefix = tmp.resolve("once/answers");
      String[] args = {"--apiKey=" + key, "--baseUrl=" + service.baseUrl(), "--pollInterval=1"};
      generate(input, prefix, args);
      assertEquals(1, service.stats().batchesCreated());
      assertTrue(Files.isRegularFile(tmp.resolve("once/answers-run.json")));

      Cli again = generate(input, prefix, args);
      assertEquals(1, service.stats().batchesCreated(), "the same command on the same input created a job: " + again.err);
      assertTrue(again.err.contains("gemini-batch: already done: this command completed at "), again.err);
      assertTrue(again.err.contains("20 responses and 0 failures") && again.err.contains("--runAgain"), again.err);
      assertFalse(again.err.contains(key), again.err);
      assertEchoes(expectedAnswers(input), prefix);

      generate(input, prefix, "--apiKey=" + key, "--baseUrl=" + service.baseUrl(), "--pollInterval=1", "--runAgain");
      assertEquals(2, service.stats().batchesCreated(), "--runAgain runs");

      Files.writeString(input, "one more prompt\n", java.nio.file.StandardOpenOption.APPEND);
      Cli changed = generate(input, prefix, args);
      assertEquals(3, service.stats().batchesCreated(), "a changed input runs: " + changed.err);
      assertEchoes(expectedAnswers(input), prefix);

      // A marker never stands for outputs that are no longer there: the user deleted them.
      try (java.util.stream.Stream<Path> files = Files.list(tmp.resolve("once"))) {
        for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).toList()) {
          Files.delete(f);
        }
      }
      generate(input, prefix, args);
      assertEquals(4, service.stats().batchesCreated(), "outputs deleted: the command runs again");
      assertEchoes(expectedAnswers(input), prefix);
    }
  }

  @Test
  void jobsRefusedForQuotaWaitAndTheProgressSaysWhy() throws IOException {
    String key = "sk-test-quota19";
    try (GeminiEmulator service =
        GeminiEmulator.builder()
            .apiKey(key)
            .jobLatency(Duration.ofMillis(1500))
            .quota(io.geminibatch.testing.Quota.builder().maxActiveJobs(1).build())
            .start()) {
      Path prefix = tmp.resolve("quota");
      Cli run =
          generate(Cli.EXAMPLES.resolve("prompts.txt"), prefix, "--apiKey=" + key, "--baseUrl=" + service.baseUrl(),
              "--pollInterval=1", "--maxRequestsPerJob=10", "--maxQueueWait=1h");
      assertEchoes(expectedAnswers(Cli.EXAMPLES.resolve("prompts.txt")), prefix);
      assertEquals(1, service.stats().peakActiveJobs());
      assertTrue(service.stats().quotaRefusalCount() > 0);
      assertTrue(run.errLines().stream().anyMatch(l -> l.matches(
          "gemini-batch: \\[ *[0-9.]+s\\] [12] jobs? waiting to be submitted: 1 refused by the service: HTTP 429"
              + " RESOURCE_EXHAUSTED: You exceeded your current quota.*")), run.err);
      assertTrue(run.err.contains("no job waiting to be submitted"), run.err);
    }
    Cli bad = Cli.run(Cli.NO_KEY, "generate", "--input=" + Cli.EXAMPLES.resolve("prompts.txt"), "--output=" + tmp.resolve("b"),
        "--maxQueueWait=soon");
    assertEquals(2, bad.status, bad.toString());
    assertTrue(bad.err.contains("--maxQueueWait: expected a duration such as 48h"), bad.err);
  }

  @Test
  void anInputThatMatchesNothingIsABadCommandLine() {
    Cli run = Cli.run(Cli.NO_KEY, "generate", "--input=" + tmp.resolve("nothing-*.txt"), "--output=" + tmp.resolve("o"));
    assertEquals(2, run.status, run.toString());
    assertEquals(List.of("gemini-batch: --input: no file matches " + tmp.resolve("nothing-*.txt")),
        run.errLines().stream().filter(l -> !l.contains("built-in")).toList());
  }

  @Test
  void anUnknownOrMissingOptionIsABadCommandLine() {
    Cli unknown = Cli.run(Cli.NO_KEY, "generate", "--input=x", "--output=y", "--bogus=1");
    assertEquals(2, unknown.status, unknown.toString());
    assertEquals(1, unknown.errLines().size(), unknown.err);
    assertTrue(unknown.err.contains("bogus"), unknown.err);

    Cli missing = Cli.run(Cli.NO_KEY, "generate", "--output=y");
    assertEquals(2, missing.status, missing.toString());
    assertTrue(missing.err.contains("--input"), missing.err);

    Cli embedOnly = Cli.run(Cli.NO_KEY, "generate", "--input=x", "--output=y", "--taskType=RETRIEVAL_DOCUMENT");
    assertEquals(2, embedOnly.status, embedOnly.toString());
  }
}
