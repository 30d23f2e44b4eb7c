package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.stream.Stream;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Nothing lost, nothing paid twice, under the faults the service is known for. */
class ReliabilityTest {
  /** Prompts in the fault drill; {@code -Ddrill.prompts=100000} for the big variant. */
  static final int DRILL_PROMPTS = Integer.getInteger("drill.prompts", 10_000);

  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(100)).seed(2026).build();

  @TempDir Path staging;

  @Test
  void faultDrillEveryKeyEndsOnceAndNoJobIsCreatedTwice() {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setFaults(
        Faults.builder()
            .jobFailureRate(0.3)
            .requestErrorRate(0.1)
            .throttleRate(0.05)
            .unavailableRate(0.05)
            .dropDownloadRate(0.1)
            .build());
    HashMap<String, String> prompts = GenerateTest.prompts(DRILL_PROMPTS);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(
                TestPipelines.generate(emulator, staging)
                    .withMaxRequestsPerJob(500)
                    .withInlineThresholdBytes(0)
                    .withMaxAttempts(3));
    PAssert.that(GenerateTest.allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    long start = System.nanoTime();
    PipelineResult run = TestPipelines.run(p);
    long millis = (System.nanoTime() - start) / 1_000_000;
    EmulatorStats stats = emulator.stats();
    GenerateTest.assertOneCreatePerDisplayName(stats);
    long submitted = TestPipelines.counter(run, "jobsSubmitted");
    assertEquals(submitted, stats.batchesCreated(), "every job created was one the connector meant to create");
    long responses = TestPipelines.counter(run, "responses");
    long failures = TestPipelines.counter(run, "failures");
    assertEquals(DRILL_PROMPTS, responses + failures);
    System.out.printf(
        "fault drill: %d prompts, %d responses, %d failures, %d jobs created (%d resubmitted), "
            + "%d requests retried, %d faults injected %s, %d ms%n",
        DRILL_PROMPTS, responses, failures, stats.batchesCreated(),
        TestPipelines.counter(run, "jobsResubmitted"), TestPipelines.counter(run, "requestsRetried"),
        stats.faultsInjected().values().stream().mapToLong(Long::longValue).sum(), stats.faultsInjected(), millis);
  }

  @Test
  void stuckJobsAreCancelledAfterTheMaximumWaitAndResubmitted() {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setFaults(Faults.builder().stuckJobRate(0.5).build());
    HashMap<String, String> prompts = GenerateTest.prompts(1000);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(
                TestPipelines.generate(emulator, staging)
                    .withMaxRequestsPerJob(100)
                    .withMaxAttempts(3)
                    .withMaxJobWait(org.joda.time.Duration.millis(1500)));
    PAssert.that(GenerateTest.allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    PAssert.that(result.getFailures())
        .satisfies(failures -> {
          for (GenerateFailure f : failures) {
            if (f.getStage() != GenerateFailure.Stage.JOB || f.getErrorCode() != 4 || f.getAttempts() != 3) {
              throw new AssertionError("unexpected failure " + f);
            }
          }
          return null;
        });
    PipelineResult run = TestPipelines.run(p);
    long expired = TestPipelines.counter(run, "jobsExpired");
    assertTrue(expired > 0, "about half of the jobs were stuck");
    // Counted once per job, when its outcome is claimed; each was cancelled by the connector.
    assertTrue(emulator.stats().callsByEndpoint().getOrDefault("batches.cancel", 0L) >= expired);
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
  }

  @Test
  void aJobCancelledBySomeoneElseEndsAsFailuresNotRetries() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setJobLatency(java.time.Duration.ofMinutes(10));
    HashMap<String, String> prompts = GenerateTest.prompts(150);
    Pipeline p = TestPipelines.direct();
    p.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts).apply(TestPipelines.generate(emulator, staging).withMaxAttempts(3));
    PAssert.that(result.getResponses()).empty();
    PAssert.that(result.getFailures())
        .satisfies(failures -> {
          int n = 0;
          for (GenerateFailure f : failures) {
            n++;
            if (f.getStage() != GenerateFailure.Stage.JOB || f.getErrorCode() != 1 || f.getAttempts() != 1) {
              throw new AssertionError("expected a cancelled job's failure, got " + f);
            }
          }
          if (n != 150) {
            throw new AssertionError("expected 150 failures, got " + n);
          }
          return null;
        });
    PipelineResult running = p.run();
    // Someone else (another tool, the console) cancels the job while the pipeline waits.
    io.geminibatch.connector.client.GeminiBatchClient other =
        io.geminibatch.connector.client.GeminiBatchClients.forConfig(
            TestPipelines.generate(emulator, staging).settings(p, "GENERATE").client);
    long deadline = System.currentTimeMillis() + 60_000;
    while (emulator.stats().batchesCreated() < 1 && System.currentTimeMillis() < deadline) {
      Thread.onSpinWait();
    }
    for (io.geminibatch.connector.client.BatchJob job : other.listBatches(100, null).getJobs()) {
      other.cancelBatch(job.getName());
    }
    running.waitUntilFinish();
    assertEquals(1, emulator.stats().batchesCreated(), "a cancelled job is not resubmitted");
  }

  @Test
  void aRunStoppedAfterSubmittingIsResumedWithoutNewJobs() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setJobLatency(java.time.Duration.ofSeconds(4));
    HashMap<String, String> prompts = GenerateTest.prompts(900);

    Pipeline first = TestPipelines.direct();
    first.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    GenerateTest.requests(first, prompts)
        .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(300).withPollInterval(org.joda.time.Duration.standardSeconds(60)));
    PipelineResult stopped = first.run();
    // 900 requests at 300 a job: the shard count the connector plans (with headroom) is 4.
    long shards =
        ShardRequests.shardCount(900, 0, TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(300).settings(first, "GENERATE"));
    long deadline = System.currentTimeMillis() + 60_000;
    while (emulator.stats().batchesCreated() < shards && System.currentTimeMillis() < deadline) {
      Thread.onSpinWait();
    }
    stopped.cancel();
    long created = emulator.stats().batchesCreated();
    assertEquals(shards, created, "the first run submitted all its jobs before it was stopped");

    emulator.setJobLatency(java.time.Duration.ofMillis(100));
    Pipeline second = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(second, prompts)
            .apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(300));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 900));
    PipelineResult run = TestPipelines.run(second);
    assertEquals(created, emulator.stats().batchesCreated(), "the second run paid for no shard again");
    assertEquals(created, TestPipelines.counter(run, "jobsReattached"));
  }

  @Test
  void theApiKeyAppearsInNoLogFailureStagedFileOrDisplayData() throws IOException {
    // An emulator of its own that logs every call (its request log is checked too).
    try (GeminiEmulator emulator =
        GeminiEmulator.builder()
            .verbose(true)
            .jobLatency(java.time.Duration.ofMillis(100))
            .faults(Faults.builder().requestErrorRate(0.2).throttleRate(0.1).jobFailureRate(0.2).build())
            .start()) {
      keyLeaksNowhere(emulator);
    }
  }

  private void keyLeaksNowhere(GeminiEmulator emulator) throws IOException {
    String key = "AIzaSyD-known-secret-key-0123456789";
    PrintStream originalErr = System.err;
    PrintStream originalOut = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(captured, true, StandardCharsets.UTF_8);
    System.setErr(capture);
    System.setOut(capture);
    try {
      HashMap<String, String> prompts = GenerateTest.prompts(400);
      Pipeline p = TestPipelines.direct();
      GeminiBatchIO.Generate transform =
          TestPipelines.generate(emulator, staging).withApiKey(key).withMaxRequestsPerJob(100).withMaxAttempts(1).withKeepArtifacts(true);
      GeminiBatchIO.GenerateResult result = GenerateTest.requests(p, prompts).apply(transform);
      PAssert.that(result.getFailures())
          .satisfies(failures -> {
            for (GenerateFailure f : failures) {
              if (f.toString().contains(key) || String.valueOf(f.getRequestJson()).contains(key)) {
                throw new AssertionError("a failure carries the key");
              }
            }
            return null;
          });
      TestPipelines.run(p);
      assertFalse(org.apache.beam.sdk.transforms.display.DisplayData.from(transform).toString().contains(key));
    } finally {
      System.setErr(originalErr);
      System.setOut(originalOut);
    }
    String logged = captured.toString(StandardCharsets.UTF_8);
    assertTrue(logged.contains("[gemini-emulator] POST"), "the emulator's request log was captured");
    assertFalse(logged.contains(key), "the key was logged");
    try (Stream<Path> files = Files.walk(staging)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        assertFalse(Files.readString(f).contains(key), "the key is in the staged file " + f);
      }
    }
  }
}
