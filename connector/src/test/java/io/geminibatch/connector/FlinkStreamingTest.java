package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.PeriodicImpulse;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An unbounded generate() on embedded Flink in streaming mode with checkpointing, in a JVM with
 * no {@code --add-opens} flags: everything the connector checkpoints has a Beam coder. The stream
 * is {@link PeriodicImpulse} ticks, each turned into the same prompts on every run (the tick's
 * timestamp names them), so a replay after a restore is checked key by key.
 */
class FlinkStreamingTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(200)).build();

  @TempDir Path staging;
  @TempDir Path scratch;

  static FlinkPipelineOptions streamingOptions(long idleMs) {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setStreaming(true);
    options.setCheckpointingInterval(500L);
    // Longer than the stream: the sources end once idle this long, then the job drains and ends.
    options.setShutdownSourcesAfterIdleMs(idleMs);
    return options;
  }

  @Test
  void aStreamIsAnsweredOnceWithCheckpointsAndFullJobs() {
    // The prompts come from one worker (one PeriodicImpulse), so all go to its one open batch.
    GeminiEmulator emulator = EMULATOR.emulator();
    int total = 200;
    HashMap<String, String> prompts = GenerateTest.prompts(total);
    FlinkPipelineOptions options = streamingOptions(15_000L);
    // A checkpoint that fails fails the job, instead of restarting it silently.
    options.setNumberOfExecutionRetries(0);
    Pipeline p = Pipeline.create(options);
    PromptTicks ticks = new PromptTicks(Instant.now(), 4, 250, total, null);
    GeminiBatchIO.GenerateResult result =
        ticks
            .expand(p)
            .apply(
                TestPipelines.generate(emulator, staging)
                    .withMaxRequestsPerJob(60)
                    .withMaxBufferingDuration(Duration.millis(5000)));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, total));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
    // One open batch per worker, cut when full: 60, 60, 60, then the last 20 once they have waited
    // the buffering time (the stream lasts 1 s). Per key bucket it was 45 jobs for 200 prompts.
    assertEquals(4, emulator.stats().batchesCreated(), "200 prompts, at most 60 a job: " + emulator.stats().createsByDisplayName());
  }

  /**
   * A failure after a checkpoint completed (a step downstream of the responses throws once; the
   * responses only come out after the stage step's stable input was checkpointed), so Flink
   * restores the job from that checkpoint: the ticks before it are not replayed, every prompt is
   * still answered exactly once, and no batch job is created twice. The responses also go through
   * a user's fixed windows and a count, and none is dropped: each carries its batch's timestamp,
   * which is its earliest prompt's (never later than its own prompt's).
   *
   * <p>As the README asks of a user on Flink, the windows allow lateness: Beam 2.70's Flink runner
   * restores a stable-input step's buffered batch without its watermark hold, so a batch restored
   * into the stage step's buffer can come out behind the watermark. The stream goes on (ticks
   * without prompts) until long after the restore, as a real stream does: once a stream has ended,
   * its watermark is at the end of time and no lateness keeps such a batch.
   */
  @Test
  void aFailureAfterACheckpointRestoresFromItWithEveryPromptOnceAndNoJobTwice() throws IOException {
    GeminiEmulator emulator = EMULATOR.emulator();
    int total = 240;
    int tickCount = 8;
    int streamTicks = 48; // 12 s: prompts in the first 2 s, then ticks alone past the restore
    HashMap<String, String> prompts = GenerateTest.prompts(total);
    Pipeline p = Pipeline.create(restartingOptions(18_000L));
    Path tickLog = scratch.resolve("ticks.log");
    Path failed = scratch.resolve("failed-once");
    PromptTicks ticks = new PromptTicks(PromptTicks.startAfterLaunch(), tickCount, 250, total, tickLog.toString());
    GeminiBatchIO.GenerateResult result =
        ticks
            .ticks(p, streamTicks)
            .apply("Prompts", ParDo.of(new PromptsFn(ticks)))
            .apply(
                TestPipelines.generate(emulator, staging)
                    .withMaxRequestsPerJob(1000)
                    .withMaxBufferingDuration(Duration.millis(1000)));
    PCollection<GenerateResponse> responses =
        result.getResponses().apply("FailOnce", ParDo.of(new FailOnceFn(failed.toString(), 5)));
    PAssert.that(responses).satisfies(Expect.echoes(prompts, total));
    PAssert.that(result.getFailures()).empty();
    // A user's fixed windows downstream: every response counted, none dropped as late.
    PAssert.that(responses.apply("Timestamps", ParDo.of(new TimestampCheckFn(ticks)))).empty();
    PCollection<KV<String, Long>> counted =
        responses
            .apply("Keys", MapElements.into(TypeDescriptors.strings()).via(GenerateResponse::getKey))
            .apply(
                "FixedWindows",
                Window.<String>into(FixedWindows.of(Duration.millis(500)))
                    .triggering(AfterWatermark.pastEndOfWindow().withLateFirings(AfterPane.elementCountAtLeast(1)))
                    .withAllowedLateness(Duration.standardMinutes(10))
                    .discardingFiredPanes())
            .apply("CountPerKey", Count.perElement());
    PAssert.that(counted).satisfies(eachKeyCountedOnce(prompts.keySet()));
    TestPipelines.run(p);

    assertTrue(Files.exists(failed), "the step downstream never threw: the test proved nothing");
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
    assertRestoredNotRerun(tickLog, streamTicks);
  }

  /**
   * A failure after a checkpoint taken while the batch job runs on the service (a branch off the
   * ticks throws once, on a tick that comes only after a checkpoint holding it completed): the
   * restored job resumes the wait, reads the job once and creates no batch twice.
   *
   * <p>The responses are checked by a side effect, not by PAssert: in this test the stream has
   * ended before the restore, so the restored job's watermark goes straight to the end of time,
   * and Beam 2.70's Flink runner does not restore the watermark hold of the elements a
   * {@code @RequiresStableInput} step holds back for the next checkpoint (see apache/beam#39991
   * for the same hold dropped without a restore): a batch restored into the stage step's buffer
   * comes out behind the watermark, and a grouping downstream (PAssert's, a user's window) drops
   * its responses as late. With a stream still running at the restore, windows with an allowed
   * lateness keep them (the cluster test, StreamingFlinkClusterIT, shows it).
   */
  @Test
  void aFailureWhileTheJobRunsResumesItsWaitAndReadsItOnce() throws IOException {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setJobLatency(java.time.Duration.ofSeconds(8));
    int total = 240;
    // All prompts in one tick, so they make one job however the ticks come out (spread over 2 s,
    // they made two when the embedded cluster started before the stream's 3 s lead was over).
    int tickCount = 1;
    int failTick = tickCount + 8; // 2 s after the prompts: the job submitted, not done
    Pipeline p = Pipeline.create(restartingOptions(18_000L));
    Path tickLog = scratch.resolve("ticks.log");
    Path failed = scratch.resolve("failed-once");
    Path seen = scratch.resolve("responses.log");
    PromptTicks ticks = new PromptTicks(PromptTicks.startAfterLaunch(), tickCount, 250, total, tickLog.toString());
    PCollection<Instant> tickStream = ticks.ticks(p, failTick + 1);
    GeminiBatchIO.GenerateResult result =
        tickStream
            .apply("Prompts", ParDo.of(new PromptsFn(ticks)))
            .apply(
                TestPipelines.generate(emulator, staging)
                    .withMaxRequestsPerJob(1000)
                    .withMaxBufferingDuration(Duration.millis(1000)));
    tickStream.apply("FailOnceWhileTheJobRuns", ParDo.of(new FailOnceStableFn(failed.toString(), ticks, failTick)));
    result.getResponses().apply("Record", ParDo.of(new RecordKeysFn<GenerateResponse>(seen.toString())));
    result.getFailures().apply("RecordFailures", ParDo.of(new RecordKeysFn<GenerateFailure>(seen.toString() + ".failures")));
    TestPipelines.run(p);

    assertTrue(Files.exists(failed), "the branch never threw: the test proved nothing");
    assertEquals(1, emulator.stats().batchesCreated(), "240 prompts in one tick: one job: " + emulator.stats().createsByDisplayName());
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
    // The job was done only after the failure, so nothing was emitted before it: each key once.
    List<String> keys = Files.readAllLines(seen, StandardCharsets.UTF_8);
    assertEquals(GenerateTest.prompts(total).keySet(), new HashSet<>(keys));
    assertEquals(total, keys.size(), "some response came out twice");
    assertTrue(Files.notExists(Path.of(seen + ".failures")), "failures came out");
    assertRestoredNotRerun(tickLog, failTick + 1);
  }

  static FlinkPipelineOptions restartingOptions(long idleMs) {
    FlinkPipelineOptions options = streamingOptions(idleMs);
    options.setNumberOfExecutionRetries(2);
    options.setExecutionRetryDelay(200L);
    return options;
  }

  /**
   * Restored from a checkpoint, not rerun from the start: the first tick, long checkpointed when
   * the failure came, was emitted once; every tick was emitted.
   */
  static void assertRestoredNotRerun(Path tickLog, int tickCount) throws IOException {
    Map<Integer, Integer> emitted = new HashMap<>();
    for (String line : Files.readAllLines(tickLog, StandardCharsets.UTF_8)) {
      emitted.merge(Integer.parseInt(line.trim()), 1, Integer::sum);
    }
    assertEquals(tickCount, emitted.size(), "every tick emitted: " + emitted);
    assertEquals(1, emitted.get(0), "the first tick was replayed, so the job ran again from the start: " + emitted);
  }

  /**
   * {@code count} ticks {@code intervalMs} apart from {@code start}, each emitting its share of
   * {@code total} prompts, keyed {@code k0..}; a tick's index comes from its timestamp, so a replay
   * emits the same prompts. Each tick emitted is appended to {@code log} (if given).
   */
  static final class PromptTicks implements java.io.Serializable {
    final Instant start;
    final int count;
    final long intervalMs;
    final int total;
    final String log;

    /**
     * A start after the embedded cluster is up: Flink's start in the test JVM takes seconds, and
     * ticks whose time has passed come out at once, so a stream started at once would be over
     * before the job ran.
     */
    static Instant startAfterLaunch() {
      return Instant.now().plus(Duration.standardSeconds(3));
    }

    PromptTicks(Instant start, int count, long intervalMs, int total, String log) {
      this.start = start;
      this.count = count;
      this.intervalMs = intervalMs;
      this.total = total;
      this.log = log;
    }

    PCollection<GenerateRequest> expand(Pipeline p) {
      return ticks(p, count).apply("Prompts", ParDo.of(new PromptsFn(this)));
    }

    /** {@code n} ticks (the first {@code count} bring prompts). */
    PCollection<Instant> ticks(Pipeline p, int n) {
      return p.apply(
          "Ticks",
          PeriodicImpulse.create()
              .startAt(start)
              .stopAt(start.plus(Duration.millis(intervalMs * n - intervalMs / 2)))
              .withInterval(Duration.millis(intervalMs)));
    }

    int tickOf(Instant t) {
      return (int) ((t.getMillis() - start.getMillis()) / intervalMs);
    }

    Instant timeOfKey(String key) {
      int i = Integer.parseInt(key.substring(1));
      return start.plus(Duration.millis(intervalMs * (i / (total / count))));
    }
  }

  static final class PromptsFn extends DoFn<Instant, GenerateRequest> {
    private final PromptTicks ticks;

    PromptsFn(PromptTicks ticks) {
      this.ticks = ticks;
    }

    @ProcessElement
    public void process(@Element Instant t, OutputReceiver<GenerateRequest> out) throws IOException {
      int tick = ticks.tickOf(t);
      int each = ticks.total / ticks.count;
      HashMap<String, String> prompts = GenerateTest.prompts(ticks.total);
      for (int i = tick * each; i < Math.min(tick + 1, ticks.count) * each; i++) {
        out.output(GenerateRequest.ofPrompt("k" + i, prompts.get("k" + i)));
      }
      if (ticks.log != null) {
        Files.writeString(
            Path.of(ticks.log), tick + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
    }
  }

  /** Passes responses on; the first instance to see {@code after} of them throws, once per test. */
  static final class FailOnceFn extends DoFn<GenerateResponse, GenerateResponse> {
    private final String flag;
    private final int after;
    private transient int seen;

    FailOnceFn(String flag, int after) {
      this.flag = flag;
      this.after = after;
    }

    @ProcessElement
    public void process(@Element GenerateResponse r, OutputReceiver<GenerateResponse> out) throws IOException {
      if (++seen == after) {
        try {
          Files.createFile(Path.of(flag));
          throw new IllegalStateException("a failure after a checkpoint, on purpose (" + seen + " responses seen)");
        } catch (FileAlreadyExistsException failedBefore) {
          // Restored already: go on.
        }
      }
      out.output(r);
    }
  }

  /**
   * Throws once, on tick {@code tick}, once a checkpoint holding it has completed (its input is
   * stable): the job restores from a checkpoint taken while the batch job runs.
   */
  static final class FailOnceStableFn extends DoFn<Instant, Void> {
    private final String flag;
    private final PromptTicks ticks;
    private final int tick;

    FailOnceStableFn(String flag, PromptTicks ticks, int tick) {
      this.flag = flag;
      this.ticks = ticks;
      this.tick = tick;
    }

    @RequiresStableInput
    @ProcessElement
    public void process(@Element Instant t) throws IOException {
      if (ticks.tickOf(t) == tick) {
        try {
          Files.createFile(Path.of(flag));
          throw new IllegalStateException("a failure after a checkpoint, on purpose, while the batch jobs run");
        } catch (FileAlreadyExistsException failedBefore) {
          // Restored already: go on.
        }
      }
    }
  }

  /**
   * The responses whose timestamp is wrong: later than its prompt's (so a user's windows
   * downstream see it in its prompt's window or earlier) or before the stream began.
   */
  static final class TimestampCheckFn extends DoFn<GenerateResponse, String> {
    private final PromptTicks ticks;

    TimestampCheckFn(PromptTicks ticks) {
      this.ticks = ticks;
    }

    @ProcessElement
    public void process(@Element GenerateResponse r, @Timestamp Instant ts, OutputReceiver<String> out) {
      Instant prompt = ticks.timeOfKey(r.getKey());
      if (ts.isAfter(prompt) || ts.isBefore(ticks.start)) {
        out.output("response " + r.getKey() + " at " + ts + ", its prompt at " + prompt + ", the stream from " + ticks.start);
      }
    }
  }

  /** Appends the key of each element it sees to a file (a side effect: once per time it runs). */
  static final class RecordKeysFn<T> extends DoFn<T, Void> {
    private final String file;

    RecordKeysFn(String file) {
      this.file = file;
    }

    @ProcessElement
    public void process(@Element T e) throws IOException {
      String key = e instanceof GenerateResponse ? ((GenerateResponse) e).getKey() : ((GenerateFailure) e).getKey();
      Files.writeString(Path.of(file), key + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
  }

  static SerializableFunction<Iterable<KV<String, Long>>, Void> eachKeyCountedOnce(Set<String> keys) {
    HashSet<String> expected = new HashSet<>(keys);
    // The panes of a window are discarding (a late pane counts only what came late, and an
    // on-time pane can be empty), so a key's total is the sum of its panes.
    return counts -> {
      Map<String, Long> totals = new HashMap<>();
      for (KV<String, Long> c : counts) {
        totals.merge(c.getKey(), c.getValue(), Long::sum);
      }
      Set<String> seen = new HashSet<>();
      List<String> wrong = new ArrayList<>();
      for (Map.Entry<String, Long> t : totals.entrySet()) {
        if (t.getValue() > 0) {
          seen.add(t.getKey());
        }
        if (t.getValue() != 1L) {
          wrong.add(t.getKey() + "=" + t.getValue());
        }
      }
      if (!wrong.isEmpty() || !seen.equals(expected)) {
        Set<String> missing = new HashSet<>(expected);
        missing.removeAll(seen);
        throw new AssertionError(
            "windowed counts: " + seen.size() + " of " + expected.size() + " keys, missing " + missing.size()
                + " (dropped as late?), counted twice or more: " + wrong);
      }
      return null;
    };
  }
}
