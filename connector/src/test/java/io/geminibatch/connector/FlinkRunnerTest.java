package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.HashMap;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The same pipeline on the Flink runner, embedded in this JVM ({@code --flinkMaster=[local]}). */
class FlinkRunnerTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(300)).seed(11).build();

  @TempDir Path staging;

  @Test
  void promptsComeBackMatchedByKeyOnFlinkThroughFilesAndInline() {
    GeminiEmulator emulator = EMULATOR.emulator();
    HashMap<String, String> prompts = GenerateTest.prompts(2000);
    Pipeline p = TestPipelines.flink();
    // 1 MB inline threshold: shards of 300 small prompts go inline, the 2000 / 300 split leaves
    // some; a second transform forces files.
    GeminiBatchIO.GenerateResult inline =
        GenerateTest.requests(p, prompts)
            .apply("Inline", TestPipelines.generate(emulator, staging.resolve("a")).withMaxRequestsPerJob(300));
    GeminiBatchIO.GenerateResult files =
        GenerateTest.requests(p, prompts)
            .apply("Files", TestPipelines.generate(emulator, staging.resolve("b")).withMaxRequestsPerJob(300).withInlineThresholdBytes(0));
    PAssert.that(inline.getResponses()).satisfies(Expect.echoes(prompts, 2000));
    PAssert.that(files.getResponses()).satisfies(Expect.echoes(prompts, 2000));
    PAssert.that(inline.getFailures()).empty();
    PAssert.that(files.getFailures()).empty();
    TestPipelines.run(p);
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
  }

  /**
   * On Flink's batch mode a resuming splittable DoFn sleeps in its task slot. Submission is
   * behind a shuffle, so every job is created before the first is awaited: with one slot, all
   * jobs still run on the service at the same time.
   */
  @Test
  void manyJobsRunAtOnceWithASingleSlot() {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setJobLatency(java.time.Duration.ofSeconds(1));
    HashMap<String, String> prompts = GenerateTest.prompts(600);
    Pipeline p = TestPipelines.flink();
    p.getOptions().as(FlinkPipelineOptions.class).setParallelism(1);
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts).apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(100));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 600));
    TestPipelines.run(p);
    long jobs = emulator.stats().batchesCreated();
    assertTrue(jobs >= 6, "jobs " + jobs);
    assertEquals(jobs, emulator.stats().peakActiveJobs());
  }
}
