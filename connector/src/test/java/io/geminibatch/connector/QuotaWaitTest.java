package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiBatchClients;
import io.geminibatch.connector.client.GeminiClientConfig;
import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import io.geminibatch.testing.Quota;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Within the service's quota: shards whose creates are refused 429 RESOURCE_EXHAUSTED wait
 * through the runner (the submit step resumes later, no thread sleeps) for longer than a create's
 * old retry budget (8 tries, backoff at most {@link #MAX_BACKOFF_MS} ms here), every request ends
 * once, and no job is created twice.
 */
class QuotaWaitTest {
  /** The tests' retry backoff's maximum: the old budget was 8 tries of at most this. */
  static final long MAX_BACKOFF_MS = 50;

  static final java.time.Duration LATENCY = java.time.Duration.ofMillis(400);

  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(LATENCY).seed(19).build();

  @TempDir Path staging;

  /** 1200 prompts in 12 file jobs of 100, results kept so the jobs' create times can be read. */
  private static GeminiBatchIO.Generate generate(GeminiEmulator emulator, Path staging) {
    return TestPipelines.generate(emulator, staging)
        .withMaxRequestsPerJob(100)
        .withInlineThresholdBytes(0)
        .withKeepArtifacts(true);
  }

  @Test
  void manyJobsAgainstTwoActiveJobsWaitThroughTheRunner() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setQuota(Quota.builder().maxActiveJobs(2).build());
    runWithinQuota(emulator, TestPipelines.direct(), 1200, Integer.MAX_VALUE);
    assertEquals(2, emulator.stats().peakActiveJobs());
  }

  @Test
  void manyJobsAgainstAnEnqueuedTokenLimitThatHoldsTwoJobs() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    // Two and a half jobs' worth of tokens, counted as the emulator counts them (a token per 4
    // code points of the prompt).
    long total = GenerateTest.prompts(1200).values().stream().mapToLong(s -> (s.codePointCount(0, s.length()) + 3) / 4).sum();
    long limit = total / 12 * 5 / 2;
    emulator.setQuota(Quota.builder().enqueuedTokenLimit("gemini-2.5-flash", limit).build());
    runWithinQuota(emulator, TestPipelines.direct(), 1200, Integer.MAX_VALUE);
    EmulatorStats stats = emulator.stats();
    assertTrue(stats.peakEnqueuedTokens() <= limit, "peak " + stats.peakEnqueuedTokens());
    assertTrue(stats.quotaRefusals().getOrDefault("enqueuedTokens", 0L) > 0, stats.quotaRefusals().toString());
  }

  @Test
  void manyJobsAgainstTwoActiveJobsOnFlink() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setQuota(Quota.builder().maxActiveJobs(2).build());
    runWithinQuota(emulator, TestPipelines.flink(), 1000, Integer.MAX_VALUE);
    assertEquals(2, emulator.stats().peakActiveJobs());
  }

  @Test
  void spuriousRefusalsBelowTheLimitsAreWaitedOut() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setFaults(Faults.builder().spuriousQuotaRefusalRate(0.6).build());
    runWithinQuota(emulator, TestPipelines.direct(), 1000, Integer.MAX_VALUE);
    assertTrue(emulator.stats().faults("spuriousQuotaRefusal") > 0);
  }

  @Test
  void pacingKeepsWithinTheQuotaWithoutARefusal() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setQuota(Quota.builder().maxActiveJobs(2).build());
    runWithinQuota(emulator, TestPipelines.direct(), 1000, 2);
    EmulatorStats stats = emulator.stats();
    assertEquals(0, stats.quotaRefusalCount(), stats.quotaRefusals().toString());
    assertEquals(2, stats.peakActiveJobs());
  }

  /**
   * Runs {@code n} prompts (with pacing to {@code maxConcurrentJobs} unless MAX_VALUE) and checks
   * what must hold whatever the quota: each key once, one create per job, the last job created
   * long after a create's old retry budget, and no thread of the submit step ever asleep.
   */
  private void runWithinQuota(GeminiEmulator emulator, Pipeline p, int n, int maxConcurrentJobs) throws Exception {
    HashMap<String, String> prompts = GenerateTest.prompts(n);
    GeminiBatchIO.Generate generate = generate(emulator, staging);
    if (maxConcurrentJobs != Integer.MAX_VALUE) {
      generate = generate.withMaxConcurrentJobs(maxConcurrentJobs);
    }
    GeminiBatchIO.GenerateResult result = GenerateTest.requests(p, prompts).apply(generate);
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, n));
    PAssert.that(result.getFailures()).empty();
    PipelineResult run;
    try (SleepWatch sleeps = SleepWatch.start()) {
      run = TestPipelines.run(p);
      assertEquals(0, sleeps.sleepingSamples.get(), "samples of a thread asleep inside SubmitFn");
      assertTrue(sleeps.samples.get() > 10, "the watch looked " + sleeps.samples.get() + " times");
    }
    EmulatorStats stats = emulator.stats();
    GenerateTest.assertOneCreatePerDisplayName(stats);
    List<BatchJob> jobs = jobs(emulator);
    assertEquals(stats.batchesCreated(), jobs.size());
    long jobsExpected = (n + 99) / 100;
    assertTrue(jobs.size() >= jobsExpected, jobs.size() + " jobs");
    if (stats.quotaRefusalCount() > 0) {
      // Runners report metrics as they can: the Flink runner's attempted counters are committed ones.
      assertTrue(TestPipelines.counter(run, "submitWaits") > 0 || p.getOptions().getRunner().getSimpleName().contains("Flink"));
    }
    // The quota held the last jobs back for longer than the old budget of 8 tries.
    Instant first = jobs.stream().map(BatchJob::getCreateTime).min(Instant::compareTo).get();
    Instant last = jobs.stream().map(BatchJob::getCreateTime).max(Instant::compareTo).get();
    long spread = java.time.Duration.between(first, last).toMillis();
    if (maxConcurrentJobs != Integer.MAX_VALUE || stats.quotaRefusals().containsKey("activeJobs")) {
      assertTrue(spread > 8 * MAX_BACKOFF_MS, "last job created " + spread + " ms after the first");
    }
    System.out.printf("quota: %d prompts, %d jobs, refusals %s, last job created %d ms after the first, peak %d active, %d tokens%n",
        n, jobs.size(), stats.quotaRefusals(), spread, stats.peakActiveJobs(), stats.peakEnqueuedTokens());
  }

  @Test
  void aWaitThatNeverEndsBecomesFailuresWithTheServicesMessage() {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setFaults(Faults.builder().spuriousQuotaRefusalRate(1).build());
    HashMap<String, String> prompts = GenerateTest.prompts(300);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(generate(emulator, staging).withMaxQueueWait(Duration.millis(1500)));
    PAssert.that(result.getResponses()).empty();
    PAssert.that(GenerateTest.allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    PAssert.that(result.getFailures())
        .satisfies(failures -> {
          for (GenerateFailure f : failures) {
            if (f.getStage() != GenerateFailure.Stage.SUBMIT
                || f.getErrorCode() != 8
                || !f.getMessage().contains("You exceeded your current quota, please check your plan and billing details")
                || !f.getMessage().contains("withMaxQueueWait")) {
              throw new AssertionError("unexpected failure " + f);
            }
          }
          return null;
        });
    long start = System.nanoTime();
    TestPipelines.run(p);
    System.out.printf("never-ending wait: %d refusals, %d ms%n", emulator.stats().quotaRefusalCount(), (System.nanoTime() - start) / 1_000_000);
    assertEquals(0, emulator.stats().batchesCreated());
    assertTrue(emulator.stats().quotaRefusalCount() >= 3 * 2, "each shard was refused more than once");
  }

  private static List<BatchJob> jobs(GeminiEmulator emulator) throws java.io.IOException {
    GeminiBatchClient client =
        GeminiBatchClients.forConfig(
            GeminiClientConfig.builder()
                .baseUrl(emulator.baseUrl())
                .apiKey(io.geminibatch.connector.client.ApiKeyProvider.of(TestPipelines.API_KEY))
                .build());
    List<BatchJob> jobs = new ArrayList<>();
    String token = null;
    do {
      var page = client.listBatches(100, token);
      jobs.addAll(page.getJobs());
      token = page.getNextPageToken();
    } while (token != null);
    // Only this test's jobs: the emulator is shared by the class.
    jobs.removeIf(j -> !j.getState().isTerminal() || j.getCreateTime().isBefore(TEST_START.get()));
    return jobs;
  }

  private static final java.util.concurrent.atomic.AtomicReference<Instant> TEST_START =
      new java.util.concurrent.atomic.AtomicReference<>(Instant.EPOCH);

  @org.junit.jupiter.api.BeforeEach
  void markStart() {
    TEST_START.set(Instant.now());
  }

  /**
   * Samples every thread's stack while a pipeline runs and counts the samples where a thread sits
   * in {@code Thread.sleep} with {@link SubmitFn} on its stack: a wait for quota must be a resume
   * through the runner, never a sleep in the submit step.
   */
  static final class SleepWatch implements AutoCloseable {
    final AtomicLong samples = new AtomicLong();
    final AtomicLong sleepingSamples = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;

    private SleepWatch() {
      thread = new Thread(this::watch, "submit-sleep-watch");
      thread.setDaemon(true);
    }

    static SleepWatch start() {
      SleepWatch w = new SleepWatch();
      w.thread.start();
      return w;
    }

    private void watch() {
      while (!stop.get()) {
        for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
          if (stack.length > 0 && isSleep(stack) && inSubmitFn(stack)) {
            sleepingSamples.incrementAndGet();
          }
        }
        samples.incrementAndGet();
        java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
      }
    }

    private static boolean isSleep(StackTraceElement[] stack) {
      for (int i = 0; i < Math.min(3, stack.length); i++) {
        if (stack[i].getClassName().equals("java.lang.Thread") && stack[i].getMethodName().startsWith("sleep")) {
          return true;
        }
      }
      return false;
    }

    private static boolean inSubmitFn(StackTraceElement[] stack) {
      for (StackTraceElement e : stack) {
        if (e.getClassName().startsWith(SubmitFn.class.getName())) {
          return true;
        }
      }
      return false;
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }
}
