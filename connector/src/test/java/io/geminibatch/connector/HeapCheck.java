package io.geminibatch.connector;

import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.GeminiEmulator;
import java.io.BufferedWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * Runs one job of about {@code args[0]} bytes of staged JSONL (one shard, uploaded whole) through
 * {@code generate()} on the embedded Flink runner, with the emulator in the same JVM, and checks
 * every prompt came back. Launched by {@link HeapFlatnessTest} in a JVM of {@code -Xmx512m}: that
 * it finishes at all shows the upload, the result file's download and parse, and the emission of
 * its responses are streamed. Prints one line: {@code heap-check ok ...} or fails with status 1.
 */
public final class HeapCheck {
  private static final int PROMPT_BYTES = 1000;

  private HeapCheck() {}

  public static void main(String[] args) throws Exception {
    long stagedBytes = Long.parseLong(args[0]);
    Path dir = Path.of(args[1]);
    // A line: {"key":"k0000001","request":{"contents":[{"role":"user","parts":[{"text":"..."}]}]}}\n
    long lineBytes = PROMPT_BYTES + 82;
    long prompts = stagedBytes / lineBytes;
    Path input = dir.resolve("prompts.tsv");
    try (BufferedWriter w = Files.newBufferedWriter(input, StandardCharsets.US_ASCII)) {
      String text = "x".repeat(PROMPT_BYTES - 20);
      for (long i = 0; i < prompts; i++) {
        w.write(String.format("k%07d\tPrompt %012d %s%n", i, i, text));
      }
    }
    try (GeminiEmulator emulator =
        GeminiEmulator.builder().jobLatency(Duration.ZERO).dataDir(dir.resolve("emulator")).start()) {
      Pipeline p = TestPipelines.flink();
      GeminiBatchIO.GenerateResult result =
          p.apply(TextIO.read().from(input.toString()))
              .apply(
                  MapElements.into(TypeDescriptor.of(GenerateRequest.class))
                      .via(line -> GenerateRequest.ofPrompt(line.substring(0, 8), line.substring(9))))
              .apply(
                  TestPipelines.generate(emulator, dir.resolve("staging"))
                      .withMaxRequestsPerJob(10_000_000)
                      .withMaxBytesPerJob(BatchConfig.MAX_FILE_BYTES)
                      .withInlineThresholdBytes(0));
      result.getResponses().apply(Count.globally()).apply(ParDo.of(new Expect<>(prompts, "responses")));
      result.getFailures().apply(Count.globally()).apply(ParDo.of(new Expect<>(0, "failures")));
      PipelineResult run = TestPipelines.run(p);
      EmulatorStats stats = emulator.stats();
      check(stats.batchesCreated() == 1, "one job, got " + stats.batchesCreated());
      long staged = TestPipelines.counter(run, "bytesStaged");
      check(stats.bytesUploaded() == staged, "the shard uploaded whole: " + stats.bytesUploaded() + " of " + staged);
      check(stats.bytesDownloaded() > stats.bytesUploaded(), "its results downloaded: " + stats.bytesDownloaded());
      check(TestPipelines.counter(run, "responses") == prompts, "responses counted");
      System.out.printf(
          "heap-check ok: %d prompts, %d bytes uploaded in one file, %d bytes of results read, old generation peak %d MB, heap limit %d MB%n",
          prompts, stats.bytesUploaded(), stats.bytesDownloaded(), peakHeld() >> 20, Runtime.getRuntime().maxMemory() >> 20);
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }

  /** The old generation's peak: what survived collections, i.e. what the run held. */
  private static long peakHeld() {
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.getName().contains("Old")) {
        peak = Math.max(peak, pool.getPeakUsage().getUsed());
      }
    }
    return peak;
  }

  /** Fails the pipeline unless the count is as expected. */
  static final class Expect<T> extends DoFn<Long, Void> {
    private final long expected;
    private final String what;

    Expect(long expected, String what) {
      this.expected = expected;
      this.what = what;
    }

    @ProcessElement
    public void process(@Element Long count) {
      if (count != expected) {
        throw new AssertionError(what + ": expected " + expected + ", got " + count);
      }
    }
  }
}
