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
                    .withMaxRequestsPerJob(1000)
                    .withMaxBufferingDuration(Duration.millis(2000)));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, total));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
    long jobs = emulator.stats().batchesCreated();
    assertTrue(jobs <= 2 * 2, "200 prompts in 2 s on 2 workers: at most one job per worker per buffering window, got " + jobs);
  }

  /**
   * A failure after a checkpoint completed (a step downstream of the responses throws once; the
   * responses only come out after the stage step's stable input was checkpointed), so Flink
   * restores the job from that checkpoint: the ticks before it are not replayed, every prompt is
   * still answered exactly once, and no batch job is created twice. The responses also go through
   * a user's fixed windows and a count, and none is dropped as late.
   */
  @Test
  void aFailureAfterACheckpointRestoresFromItWithEveryPromptOnceAndNoJobTwice() throws IOException {
    GeminiEmulator emulator = EMULATOR.emulator();
    int total = 240;
    int tickCount = 8;
    HashMap<String, String> prompts = GenerateTest.prompts(total);
    FlinkPipelineOptions options = streamingOptions(8_000L);
    options.setNumberOfExecutionRetries(2);
    options.setExecutionRetryDelay(200L);
    Pipeline p = Pipeline.create(options);
    Path tickLog = scratch.resolve("ticks.log");
    Path failed = scratch.resolve("failed-once");
    PromptTicks ticks = new PromptTicks(Instant.now(), tickCount, 250, total, tickLog.toString());
    GeminiBatchIO.GenerateResult result =
        ticks
            .expand(p)
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
            .apply("FixedWindows", Window.<String>into(FixedWindows.of(Duration.millis(500))))
            .apply("CountPerKey", Count.perElement());
    PAssert.that(counted).satisfies(eachKeyCountedOnce(prompts.keySet()));
    TestPipelines.run(p);

    assertTrue(Files.exists(failed), "the step downstream never threw: the test proved nothing");
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
    // Restored from a checkpoint, not rerun from the start: the first tick, long checkpointed
    // when the responses came out, was emitted once; the stream as a whole is not emitted twice.
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

    PromptTicks(Instant start, int count, long intervalMs, int total, String log) {
      this.start = start;
      this.count = count;
      this.intervalMs = intervalMs;
      this.total = total;
      this.log = log;
    }

    PCollection<GenerateRequest> expand(Pipeline p) {
      return p.apply(
              "Ticks",
              PeriodicImpulse.create()
                  .startAt(start)
                  .stopAt(start.plus(Duration.millis(intervalMs * count - intervalMs / 2)))
                  .withInterval(Duration.millis(intervalMs)))
          .apply("Prompts", ParDo.of(new PromptsFn(this)));
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
      for (int i = tick * each; i < (tick + 1) * each; i++) {
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

  static SerializableFunction<Iterable<KV<String, Long>>, Void> eachKeyCountedOnce(Set<String> keys) {
    HashSet<String> expected = new HashSet<>(keys);
    return counts -> {
      Set<String> seen = new HashSet<>();
      List<String> wrong = new ArrayList<>();
      for (KV<String, Long> c : counts) {
        if (!seen.add(c.getKey()) || c.getValue() != 1L) {
          wrong.add(c.getKey() + "=" + c.getValue());
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
