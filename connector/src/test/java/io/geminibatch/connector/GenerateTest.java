package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.stream.Stream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** generate() end to end on the Direct Runner, over real HTTP against the emulator. */
class GenerateTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(100)).seed(7).build();

  @TempDir Path staging;
  GeminiEmulator emulator;

  @BeforeEach
  void setUp() {
    emulator = EMULATOR.emulator();
  }

  static HashMap<String, String> prompts(int n) {
    HashMap<String, String> prompts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      prompts.put("k" + i, "Prompt number " + i + ": why is the sky blue? " + "x".repeat(i % 50));
    }
    return prompts;
  }

  static PCollection<GenerateRequest> requests(Pipeline p, HashMap<String, String> prompts) {
    List<GenerateRequest> list = new ArrayList<>();
    prompts.forEach((k, v) -> list.add(GenerateRequest.ofPrompt(k, v)));
    return p.apply(Create.of(list));
  }

  /** Keys of both outputs, flattened, for the each-key-once check. */
  static PCollection<String> allKeys(GeminiBatchIO.GenerateResult result) {
    PCollection<String> ok =
        result.getResponses().apply("ResponseKeys", MapElements.into(TypeDescriptors.strings()).via(GenerateResponse::getKey));
    PCollection<String> failed =
        result.getFailures().apply("FailureKeys", MapElements.into(TypeDescriptors.strings()).via(GenerateFailure::getKey));
    return PCollectionList.of(ok).and(failed).apply("AllKeys", Flatten.pCollections());
  }

  static void assertOneCreatePerDisplayName(EmulatorStats stats) {
    stats.createsByDisplayName().forEach((name, creates) -> assertEquals(1L, creates.longValue(), name));
  }

  @Test
  void everyPromptComesBackAsItsOwnEchoAcrossManyFileJobs() throws IOException {
    HashMap<String, String> prompts = prompts(3000);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts)
            .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(400).withInlineThresholdBytes(0));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 3000));
    PAssert.that(result.getFailures()).empty();
    PipelineResult run = TestPipelines.run(p);

    EmulatorStats stats = emulator.stats();
    long jobs = TestPipelines.counter(run, "jobsSubmitted");
    assertTrue(jobs >= 8, "3000 requests at 400 a job need at least 8 jobs, got " + jobs);
    assertEquals(jobs, stats.batchesCreated());
    assertEquals(jobs, stats.callsByEndpoint().getOrDefault("files.upload.start", 0L));
    assertOneCreatePerDisplayName(stats);
    assertEquals(3000, TestPipelines.counter(run, "responses"));
    assertTrue(TestPipelines.counter(run, "promptTokens") > 0);
    // Cleaned up: no staged shard or ledger entry left.
    try (Stream<Path> left = Files.walk(staging)) {
      assertEquals(0, left.filter(Files::isRegularFile).count());
    }
  }

  @Test
  void largeBundlesSpillTheirPacksToStagingAndTheSpillIsGoneAfterwards() throws IOException {
    // 3 MB of prompts: bundles this large write their packs to the staging location and only
    // where each pack is crosses the shuffle. A duplicated key must still meet its twin there.
    HashMap<String, String> prompts = new HashMap<>();
    for (int i = 0; i < 3000; i++) {
      prompts.put("big" + i, "Prompt " + i + " " + "abcdefghij".repeat(100));
    }
    List<GenerateRequest> list = new ArrayList<>();
    prompts.forEach((k, v) -> list.add(GenerateRequest.ofPrompt(k, v)));
    list.add(GenerateRequest.ofPrompt("big7", prompts.get("big7")));
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        p.apply(Create.of(list))
            .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(700).withInlineThresholdBytes(0));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 3000));
    PAssert.that(result.getFailures())
        .satisfies(
            failures -> {
              List<String> keys = new ArrayList<>();
              failures.forEach(f -> keys.add(f.getKey() + " " + f.getMessage()));
              assertEquals(1, keys.size(), keys.toString());
              assertTrue(keys.get(0).startsWith("big7 duplicate key"), keys.get(0));
              return null;
            });
    PipelineResult run = TestPipelines.run(p);
    long spilled = TestPipelines.counter(run, "packsSpilled");
    assertTrue(spilled > 0, "3 MB of prompts should have spilled packs, got " + spilled);
    assertTrue(TestPipelines.counter(run, "jobsSubmitted") >= 5);
    try (Stream<Path> left = Files.walk(staging)) {
      assertEquals(List.of(), left.filter(Files::isRegularFile).map(Path::toString).toList());
    }
  }

  @Test
  void twoTransformsSharingAStagingLocationEachKeepTheirOwnSpilledPacks() throws IOException {
    Pipeline p = TestPipelines.direct();
    for (String name : List.of("left", "right")) {
      HashMap<String, String> prompts = new HashMap<>();
      for (int i = 0; i < 1500; i++) {
        prompts.put(name + i, name + " prompt " + i + " " + "0123456789".repeat(100));
      }
      List<GenerateRequest> list = new ArrayList<>();
      prompts.forEach((k, v) -> list.add(GenerateRequest.ofPrompt(k, v)));
      GeminiBatchIO.GenerateResult result =
          p.apply("Create " + name, Create.of(list))
              .apply("Generate " + name, TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(500));
      PAssert.that("responses " + name, result.getResponses()).satisfies(Expect.echoes(prompts, 1500));
      PAssert.that("failures " + name, result.getFailures()).empty();
    }
    PipelineResult run = TestPipelines.run(p);
    assertTrue(TestPipelines.counter(run, "packsSpilled") > 0);
    try (Stream<Path> left = Files.walk(staging)) {
      assertEquals(List.of(), left.filter(Files::isRegularFile).map(Path::toString).toList());
    }
  }

  @Test
  void smallShardsGoInlineAndAreMatchedByKeyWhenTheServiceReordersThem() {
    emulator.setFaults(Faults.builder().reorderInline(true).build());
    HashMap<String, String> prompts = prompts(600);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts).apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(100));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 600));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    assertEquals(0L, emulator.stats().callsByEndpoint().getOrDefault("files.upload.start", 0L));
    assertTrue(emulator.stats().batchesCreated() >= 6);
  }

  @Test
  void inlineResultsWithoutMetadataAreMatchedByPosition() {
    emulator.setFaults(Faults.builder().omitInlineMetadata(true).build());
    HashMap<String, String> prompts = prompts(300);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts).apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(100));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 300));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
  }

  @Test
  void errorLinesAreRetriedInAFollowUpJobAndWhatStillFailsIsReported() {
    emulator.setFaults(Faults.builder().requestErrorRate(0.3).build());
    HashMap<String, String> prompts = prompts(1000);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts)
            .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(250).withMaxAttempts(2).withInlineThresholdBytes(0));
    PAssert.that(allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    PAssert.that(result.getFailures())
        .satisfies(
            failures -> {
              for (GenerateFailure f : failures) {
                if (f.getStage() != GenerateFailure.Stage.RESULT || f.getErrorCode() != 13
                    || f.getJobName() == null || f.getAttempts() != 2 || f.getRequestJson() == null) {
                  throw new AssertionError("unexpected failure " + f);
                }
              }
              return null;
            });
    PipelineResult run = TestPipelines.run(p);
    long retried = TestPipelines.counter(run, "requestsRetried");
    long failed = TestPipelines.counter(run, "failures");
    // About 30% fail the first time, about 30% of those again.
    assertTrue(retried > 200 && retried < 400, "retried " + retried);
    assertTrue(failed > 30 && failed < 160, "failed " + failed);
    assertEquals(1000 - failed, TestPipelines.counter(run, "responses"));
    assertOneCreatePerDisplayName(emulator.stats());
  }

  @Test
  void failedAndExpiredJobsAreResubmittedAsNewAttempts() {
    emulator.setFaults(Faults.builder().jobFailureRate(0.4).jobExpiryRate(0.1).build());
    HashMap<String, String> prompts = prompts(1200);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts)
            .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(100).withMaxAttempts(3));
    PAssert.that(allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    PAssert.that(result.getFailures())
        .satisfies(
            failures -> {
              for (GenerateFailure f : failures) {
                if (f.getStage() != GenerateFailure.Stage.JOB || f.getAttempts() != 3 || f.getJobName() == null) {
                  throw new AssertionError("unexpected failure " + f);
                }
              }
              return null;
            });
    PipelineResult run = TestPipelines.run(p);
    EmulatorStats stats = emulator.stats();
    assertOneCreatePerDisplayName(stats);
    long resubmitted = TestPipelines.counter(run, "jobsResubmitted");
    assertTrue(resubmitted > 0, "some of ~13 jobs at 50% failure must have been resubmitted");
    assertEquals(TestPipelines.counter(run, "jobsSubmitted"), stats.batchesCreated());
  }

  @Test
  void throttlingUnavailabilityAndDroppedDownloadsLoseNothing() {
    emulator.setFaults(
        Faults.builder().throttleRate(0.1).unavailableRate(0.05).dropDownloadRate(0.3).build());
    HashMap<String, String> prompts = prompts(800);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts)
            .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(100).withInlineThresholdBytes(0));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 800));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    assertOneCreatePerDisplayName(emulator.stats());
    assertTrue(emulator.stats().faultsInjected().values().stream().mapToLong(Long::longValue).sum() > 0);
  }

  @Test
  void aCreateWhoseReplyIsLostIsFoundByItsDisplayNameNotCreatedTwice() {
    emulator.setFaults(Faults.builder().lostCreateReplyRate(1.0).build());
    HashMap<String, String> prompts = prompts(200);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        requests(p, prompts).apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(100));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 200));
    TestPipelines.run(p);
    EmulatorStats stats = emulator.stats();
    assertOneCreatePerDisplayName(stats);
    assertEquals(stats.createsByDisplayName().size(), stats.batchesCreated());
  }

  @Test
  void badInputGoesToTheFailuresNamingTheProblemAndThePipelineGoesOn() {
    Pipeline p = TestPipelines.direct();
    List<GenerateRequest> input =
        List.of(
            GenerateRequest.ofPrompt("good", "hello"),
            GenerateRequest.of("full", "{\"contents\":[{\"parts\":[{\"text\":\"whole request\"}]}]}"),
            GenerateRequest.ofPrompt("", "no key"),
            GenerateRequest.ofPrompt("empty", "  "),
            GenerateRequest.of("notjson", "{\"contents\": [oops"),
            GenerateRequest.of("nocontents", "{\"generationConfig\":{}}"),
            GenerateRequest.of("emptycontents", "{\"contents\":[]}"),
            GenerateRequest.ofPrompt("huge", "y".repeat(5000)),
            GenerateRequest.ofPrompt("good", "hello again"));
    GeminiBatchIO.GenerateResult result =
        p.apply(Create.of(input)).apply(TestPipelines.generate(emulator, staging).withMaxRequestBytes(2000));
    PAssert.that(result.getResponses().apply(MapElements.into(TypeDescriptors.strings()).via(GenerateResponse::getKey)))
        .satisfies(keys -> {
          List<String> list = new ArrayList<>();
          keys.forEach(list::add);
          if (list.size() != 2 || !list.contains("full") || !list.contains("good")) {
            throw new AssertionError("expected answers for 'good' and 'full', got " + list);
          }
          return null;
        });
    PAssert.that(
            result.getFailures().apply(MapElements.into(TypeDescriptors.strings()).via(f -> f.getKey() + " | " + f.getMessage())))
        .satisfies(lines -> {
          String all = String.join("\n", lines);
          for (String expected :
              new String[] {
                " | key must be a non-empty string, got ''",
                "empty | text is empty",
                "notjson | request is not valid JSON",
                "nocontents | request has no field 'contents'",
                "emptycontents | request field 'contents' must be a non-empty array of Content, got an empty array",
                "huge | request is 50",
                "good | duplicate key 'good'"
              }) {
            if (!all.contains(expected)) {
              throw new AssertionError("no failure like '" + expected + "' in:\n" + all);
            }
          }
          return null;
        });
    TestPipelines.run(p);
  }
}
