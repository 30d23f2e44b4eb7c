package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code withResultFiles}: the read step writes the responses to block files itself. Its simple
 * twin, the responses emitted and formatted downstream, is the oracle: the same lines, each key
 * once, across block sizes from a few lines to the whole file, and across retry rounds.
 */
class ResultFilesTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(20)).seed(5).build();

  private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

  /** Lines of the emitted responses, by key (the Direct runner runs in this JVM). */
  static final ConcurrentHashMap<String, String> ORACLE = new ConcurrentHashMap<>();

  @TempDir Path dir;
  GeminiEmulator emulator;

  @BeforeEach
  void setUp() {
    emulator = EMULATOR.emulator();
  }

  /** Runs generate() on {@code prompts}, writing result files under {@code prefix} when not null. */
  private PipelineResult run(HashMap<String, String> prompts, long blockBytes, String prefix, Path staging) {
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.Generate generate =
        TestPipelines.generate(emulator, staging)
            .withMaxRequestsPerJob(700)
            .withInlineThresholdBytes(0)
            .withResultBlockBytes(blockBytes);
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts).apply(prefix == null ? generate : generate.withResultFiles(prefix));
    if (prefix == null) {
      PAssert.that(result.getResponses()).satisfies(responses -> {
        GenerateKind kind = new GenerateKind(null, null);
        for (GenerateResponse r : responses) {
          ORACLE.put(r.getKey(), withoutResponseId(new String(kind.resultLine(r), StandardCharsets.UTF_8).stripTrailing()));
        }
        return null;
      });
    } else {
      PAssert.that(result.getResponses()).empty();
    }
    PAssert.that(result.getFailures()).empty();
    return TestPipelines.run(p);
  }

  /** The emulator gives every response a random id, different in each run: left out of comparisons. */
  static String withoutResponseId(String line) {
    return line.replaceFirst(",\"responseId\":\"[^\"]*\"", "");
  }

  /** Every line of {@code prefix-*.jsonl}; fails on hidden temporary files left behind. */
  private static List<String> lines(Path prefix) throws IOException {
    List<String> lines = new ArrayList<>();
    String name = prefix.getFileName().toString();
    try (Stream<Path> files = Files.list(prefix.getParent())) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String file = f.getFileName().toString();
        assertTrue(!file.endsWith(".tmp"), "a temporary file was left: " + file);
        if (file.startsWith(name + "-")) {
          assertTrue(file.matches(name + "-[a-z0-9]+-[0-9]{5,}\\.jsonl"), file);
          lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
        }
      }
    }
    return lines;
  }

  @Test
  void theReadStepWritesEveryResponseOnceAsTheEmittedTwinWouldAcrossBlockSizes() throws IOException {
    int n = 1000;
    HashMap<String, String> prompts = GenerateTest.prompts(n);
    ORACLE.clear();
    run(prompts, 64L << 20, null, dir.resolve("oracle-staging"));
    assertEquals(n, ORACLE.size());
    Set<String> expected = new HashSet<>(ORACLE.values());
    // From a line or two per block to the whole file in one; 700 requests per job: 2 jobs.
    for (long blockBytes : new long[] {500, 50_000, 64L << 20}) {
      Path prefix = dir.resolve("out-" + blockBytes).resolve("answers");
      PipelineResult result = run(prompts, blockBytes, prefix.toString(), dir.resolve("staging-" + blockBytes));
      List<String> lines = lines(prefix);
      assertEquals(n, lines.size(), "blocks of " + blockBytes);
      Set<String> written = new HashSet<>();
      lines.forEach(l -> written.add(withoutResponseId(l)));
      assertEquals(n, written.size(), "blocks of " + blockBytes);
      assertEquals(expected, written, "blocks of " + blockBytes);
      assertEquals(n, TestPipelines.counter(result, "responses"));
      assertTrue(TestPipelines.counter(result, "promptTokens") > 0, "tokens are counted from the lines written");
    }
  }

  @Test
  void retriedRequestsLandInTheirNewJobsFilesAndNoKeyTwice() throws IOException {
    int n = 1200;
    HashMap<String, String> prompts = GenerateTest.prompts(n);
    emulator.setFaults(Faults.builder().requestErrorRate(0.3).build());
    Path prefix = dir.resolve("out").resolve("answers");
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(
                TestPipelines.generate(emulator, dir.resolve("staging"))
                    .withMaxRequestsPerJob(500)
                    .withInlineThresholdBytes(0)
                    .withMaxAttempts(10)
                    .withResultBlockBytes(10_000)
                    .withResultFiles(prefix.toString()));
    PAssert.that(result.getResponses()).empty();
    PAssert.that(result.getFailures()).empty();
    PipelineResult run = TestPipelines.run(p);
    Set<String> keys = new HashSet<>();
    for (String line : lines(prefix)) {
      JsonNode node = MAPPER.readTree(line);
      String key = node.get("key").asText();
      assertTrue(keys.add(key), "key written twice: " + key);
      String text = node.get("response").get("candidates").get(0).get("content").get("parts").get(0).get("text").asText();
      assertEquals(io.geminibatch.testing.EmulatorResponder.ANSWER_PREFIX + prompts.get(key), text);
    }
    assertEquals(prompts.keySet(), keys);
    assertTrue(TestPipelines.counter(run, "requestsRetried") > 0, "some requests were retried in later rounds");
  }

  @Test
  void aShardWhoseRequestsAllFailAgainIsStagedUploadedAndNamedAnewInEachRound() throws IOException {
    // Every request fails, so each round's shard holds the very lines of the round before. The
    // rounds must not share the staged file, the upload or the display name: the earlier round's
    // clean-up deleted the file under the later round's upload.
    HashMap<String, String> prompts = GenerateTest.prompts(3);
    emulator.setFaults(Faults.builder().requestErrorRate(1.0).build());
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(
                TestPipelines.generate(emulator, dir.resolve("staging"))
                    .withInlineThresholdBytes(0)
                    .withMaxAttempts(4)
                    .withResultFiles(dir.resolve("out").resolve("answers").toString()));
    PAssert.that(result.getFailures())
        .satisfies(
            failures -> {
              Set<String> keys = new HashSet<>();
              for (GenerateFailure f : failures) {
                assertTrue(keys.add(f.getKey()), "failed twice: " + f);
                assertEquals(4, f.getAttempts(), f.toString());
              }
              assertEquals(prompts.keySet(), keys);
              return null;
            });
    TestPipelines.run(p);
    assertEquals(4, emulator.stats().batchesCreated(), emulator.stats().toString());
    assertEquals(Set.of(1L), new HashSet<>(emulator.stats().createsByDisplayName().values()));
    assertEquals(4, emulator.stats().calls("files.upload.start"), "one upload a round: " + emulator.stats().callsByEndpoint());
  }

  @Test
  void aBlockWrittenAgainReplacesItsFileWithTheSameName() throws IOException {
    String prefix = dir.resolve("sub").resolve("answers").toString();
    ResultFiles.BlockWriter first = new ResultFiles.BlockWriter(prefix, "batches/abc", 3);
    first.stream().write("{\"key\":\"a\"}\n".getBytes(StandardCharsets.UTF_8));
    first.commit();
    // A retried bundle writes the block again (the same lines in practice; different here to tell).
    ResultFiles.BlockWriter again = new ResultFiles.BlockWriter(prefix, "batches/abc", 3);
    again.stream().write("{\"key\":\"b\"}\n".getBytes(StandardCharsets.UTF_8));
    again.commit();
    ResultFiles.BlockWriter dropped = new ResultFiles.BlockWriter(prefix, "batches/abc", 4);
    dropped.stream().write("{\"key\":\"c\"}\n".getBytes(StandardCharsets.UTF_8));
    dropped.abort();
    assertEquals(List.of("{\"key\":\"b\"}"), lines(Path.of(prefix)));
    try (Stream<Path> files = Files.list(dir.resolve("sub"))) {
      assertEquals(List.of("answers-abc-00003.jsonl"), files.map(f -> f.getFileName().toString()).toList());
    }
  }
}
