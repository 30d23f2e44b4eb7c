package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.FlatMapElements;
import org.apache.beam.sdk.transforms.PeriodicImpulse;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An unbounded generate() on embedded Flink in streaming mode with checkpointing, in a JVM with
 * no {@code --add-opens} flags: everything the connector checkpoints has a Beam coder.
 */
class FlinkStreamingTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(200)).build();

  @TempDir Path staging;

  @Test
  void aStreamIsAnsweredOnceWithCheckpointsAndFullJobs() {
    GeminiEmulator emulator = EMULATOR.emulator();
    int total = 200;
    HashMap<String, String> prompts = GenerateTest.prompts(total);
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setStreaming(true);
    options.setCheckpointingInterval(500L);
    // A checkpoint that fails fails the job, instead of restarting it silently.
    options.setNumberOfExecutionRetries(0);
    options.setShutdownSourcesAfterIdleMs(15_000L);
    Pipeline p = Pipeline.create(options);
    Instant start = Instant.now();
    int impulses = 4;
    int each = total / impulses;
    PCollection<GenerateRequest> stream =
        p.apply(
                PeriodicImpulse.create()
                    .startAt(start)
                    .stopAt(start.plus(Duration.millis(250L * impulses - 100)))
                    .withInterval(Duration.millis(250)))
            .apply(
                FlatMapElements.into(TypeDescriptor.of(GenerateRequest.class))
                    .via(
                        (Instant t) -> {
                          int batch = (int) ((t.getMillis() - start.getMillis()) / 250);
                          List<GenerateRequest> out = new ArrayList<>();
                          for (int i = batch * each; i < (batch + 1) * each; i++) {
                            out.add(GenerateRequest.ofPrompt("k" + i, prompts.get("k" + i)));
                          }
                          return out;
                        }));
    GeminiBatchIO.GenerateResult result =
        stream.apply(
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
}
