package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.HashMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Results read a block at a time on the Direct runner, which checkpoints a splittable DoFn after
 * every 100 outputs: each resumed bundle downloads from its block on (never the file's head again),
 * knows how many responses came before it, and so needs no second pass.
 */
class ResultBlocksTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(50)).seed(11).build();

  @TempDir Path staging;
  GeminiEmulator emulator;

  @BeforeEach
  void setUp() {
    emulator = EMULATOR.emulator();
  }

  /** Runs one file job of {@code n} prompts read in blocks of {@code blockBytes}; returns bytes downloaded. */
  private long readInBlocks(int n, long blockBytes, Path dir) {
    HashMap<String, String> prompts = GenerateTest.prompts(n);
    emulator.resetStats();
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(
                TestPipelines.generate(emulator, dir)
                    .withMaxRequestsPerJob(2L * n)
                    .withInlineThresholdBytes(0)
                    .withResultBlockBytes(blockBytes));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, n));
    PAssert.that(result.getFailures()).empty();
    PipelineResult run = TestPipelines.run(p);
    EmulatorStats stats = emulator.stats();
    assertEquals(1, stats.batchesCreated());
    assertEquals(n, TestPipelines.counter(run, "responses"));
    return stats.bytesDownloaded();
  }

  @Test
  void aFileReadInManyBundlesResumesAtItsBlockAndEmitsEachResultOnce() {
    long whole = readInBlocks(2000, 64L << 20, staging.resolve("whole"));
    emulator.resetStats();
    // The Direct runner checkpoints a read every 100 outputs, and a block is at least one output
    // (a batch of responses): blocks of 1 KB make a read of several hundred blocks.
    long blocks = readInBlocks(2000, 1024, staging.resolve("blocks"));
    long calls = emulator.stats().calls("files.download");
    assertTrue(calls > 5, emulator.stats().toString());
    // Each resumed bundle downloads from its block on (the emulator sends the rest of the file
    // until the reader closes), about half the file on average: rereading it from the head each
    // time would send it all every time.
    assertTrue(blocks < 3 * whole * calls / 4, "downloaded " + blocks + " bytes in " + calls + " calls, " + whole + " at once");
  }

  @Test
  void inlinedResponsesAreReadInBlocksToo() {
    HashMap<String, String> prompts = GenerateTest.prompts(2500);
    Pipeline p = TestPipelines.direct();
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts).apply(TestPipelines.generate(emulator, staging).withMaxRequestsPerJob(5000));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 2500));
    PAssert.that(result.getFailures()).empty();
    PipelineResult run = TestPipelines.run(p);
    assertEquals(2500, TestPipelines.counter(run, "responses"));
  }
}
