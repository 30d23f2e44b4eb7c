package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.geminibatch.connector.GenerateRequest;
import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.GeminiEmulator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.WriteFiles;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * {@code benchmark}: how close the main job comes to what this machine can do. Generates the
 * prompts, measures the {@link PlainLoopBaseline}, then runs {@code generate} and {@code embed} on
 * them against an emulator that completes jobs at once, checks that every prompt came back, and
 * prints one line per figure ({@code benchmark: NAME VALUE}), so that runs compare side by side.
 * Stage times are summed over workers (they overlap in time, so they can add up to more than the
 * wall time).
 */
final class BenchmarkCommand {
  /** The emulator answers within milliseconds: poll it as often. */
  static final org.joda.time.Duration EMULATOR_POLL = org.joda.time.Duration.millis(50);

  static final String MODEL = "models/gemini-2.5-flash";
  private static final JsonFactory JSON = new JsonFactory();
  private static final String[] WORDS =
      ("the of and to in is was for on that with as by at from it an are were which this be or had"
              + " not but what all when there can who been one has their if would will more said out so"
              + " up into than its only other new some could time these two may then first any now over"
              + " such our even most made after also did many before must through back years where much"
              + " way well down should because each just those people river mountain light answer")
          .split(" ");

  private final PrintStream out;
  private final PrintStream err;

  private BenchmarkCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** Runs the benchmark; figures go to {@code out}, the runs' progress to {@code err}. */
  static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, IOException {
    // The measured runs take every option of generate and embed.
    PipelineOptionsFactory.register(GenerateOptions.class);
    PipelineOptionsFactory.register(EmbedOptions.class);
    BenchmarkOptions options = Args.parseUnvalidated(args, BenchmarkOptions.class);
    int prompts = options.getPrompts();
    int promptBytes = options.getPromptBytes();
    // The runner generate would choose for this input.
    Args.defaultRunner(args, options, (long) prompts * (promptBytes + 1), System.getenv());
    int embedPrompts = options.getEmbedPrompts() != null ? options.getEmbedPrompts() : Math.max(1, prompts / 10);
    if (prompts < 1 || promptBytes < 32 || embedPrompts < 1 || embedPrompts > prompts) {
      throw new UsageException(
          "benchmark: need --prompts >= 1, --promptBytes >= 32 and 1 <= --embedPrompts <= --prompts");
    }
    FileSystems.setDefaultPipelineOptions(options);
    Path work =
        options.getWork() != null
            ? Files.createDirectories(Path.of(options.getWork()))
            : Files.createTempDirectory("gemini-batch-benchmark-");
    try {
      if (options.getColdProcesses()) {
        if (options.getRounds() < 1) {
          throw new UsageException("benchmark: need --rounds >= 1");
        }
        new ColdProcessBenchmark(options, work, out, err).run(prompts, promptBytes, embedPrompts);
      } else {
        new BenchmarkCommand(out, err).run(options, work, prompts, promptBytes, embedPrompts);
      }
    } finally {
      if (options.getWork() == null) {
        BatchCommand.deleteTree(work);
      }
    }
    return 0;
  }

  private void run(BenchmarkOptions options, Path work, int prompts, int promptBytes, int embedPrompts)
      throws UsageException, IOException {
    figure("runner", options.getRunner().getSimpleName() + parallelism(options));
    figure("cores", Runtime.getRuntime().availableProcessors());
    figure("maxHeapMB", mb(Runtime.getRuntime().maxMemory()));
    figure("prompts", prompts);
    figure("promptBytes", promptBytes);
    Path promptFile = work.resolve("prompts.txt");
    long expected = writePrompts(promptFile, prompts, promptBytes);

    System.gc();
    PlainLoopBaseline.Figures base;
    try (ResourceMonitor monitor = new ResourceMonitor(name -> false)) {
      base = PlainLoopBaseline.run(promptFile, work.resolve("baseline"), MODEL);
      figure("baseline.seconds", seconds(base.seconds()));
      figure("baseline.promptsPerSecond", Math.round(base.lines / base.seconds()));
      figure("baseline.mbPerSecondIn", rate(base.uploadedBytes, base.seconds()));
      figure("baseline.mbPerSecondOut", rate(base.downloadedBytes, base.seconds()));
      figure("baseline.encodeUploadSeconds", seconds(base.uploadSeconds));
      figure("baseline.downloadParseSeconds", seconds(base.downloadSeconds));
    }
    double baselineRate = base.lines / base.seconds();

    GenerateOptions generate = options.as(GenerateOptions.class);
    double floor = runnerFloor(generate, promptFile, work.resolve("floor"), prompts, expected);
    figure("runnerFloor.seconds", seconds(floor));
    figure("runnerFloor.ratioToBaseline", ratio(prompts / floor, baselineRate));
    measure("generate", new GenerateCommand(), generate, promptFile, work.resolve("generate"), prompts, expected, baselineRate, prompts / floor);

    Path texts = work.resolve("texts.txt");
    long expectedTexts = writePrompts(texts, embedPrompts, promptBytes);
    figure("embed.prompts", embedPrompts);
    EmbedOptions embed = options.as(EmbedOptions.class);
    measure("embed", new EmbedCommand(), embed, texts, work.resolve("embed"), embedPrompts, expectedTexts, 0, 0);
  }

  /**
   * The runner's floor, in seconds: the prompts read as {@code generate} reads them and written
   * back, a line each, on the same runner with the same options, and nothing else: no request
   * built, no service. No transform that reads and writes every prompt on this runner can take
   * less; the difference to {@code generate.seconds} is what the connector and the service cost.
   */
  static double runnerFloor(GenerateOptions options, Path input, Path dir, int prompts, long expectedKeys)
      throws IOException {
    Files.createDirectories(dir);
    Pipeline pipeline = Pipeline.create(options);
    InputLines.Read<GenerateRequest> read =
        InputLines.read(input.toString(), InputLines.Format.AUTO, GenerateRequest::ofPrompt, GenerateRequest::of, GenerateRequest.RequestCoder.of());
    pipeline
        .apply("ReadInput", read)
        .get(read.requests)
        .apply("ToLine", MapElements.into(TypeDescriptor.of(byte[].class)).via(JsonLines::input))
        .setCoder(ByteArrayCoder.of())
        .apply("Write", WriteFiles.to(new JsonlSink(FileSystems.matchNewResource(dir.resolve("out").toString(), false))));
    System.gc();
    long start = System.nanoTime();
    PipelineResult.State state = pipeline.run().waitUntilFinish();
    double seconds = (System.nanoTime() - start) / 1e9;
    long[] lines = readResults(dir, "out-");
    BatchCommand.deleteTree(dir);
    if (state != PipelineResult.State.DONE || lines[0] != prompts || lines[1] != expectedKeys) {
      throw new IOException("runnerFloor: the pipeline ended " + state + " with " + lines[0] + " lines for " + prompts + " prompts");
    }
    return seconds;
  }

  /** One run of a batch command on the emulator, with its figures; checks every prompt came back. */
  private <OptionsT extends GeminiBatchOptions> void measure(
      String name,
      BatchCommand<?, ?, ?, OptionsT> command,
      OptionsT options,
      Path input,
      Path dir,
      long prompts,
      long expectedKeys,
      double baselineRate,
      double floorRate)
      throws UsageException, IOException {
    options.setInput(input.toString());
    options.setOutput(dir.resolve("out").toString());
    options.setStagingLocation(dir.resolve("staging").toString());
    System.gc();
    PipelineResult result;
    EmulatorStats stats;
    ResourceMonitor monitor;
    long start = System.nanoTime();
    long startMillis = System.currentTimeMillis();
    GeminiEmulator emulator =
        GeminiEmulator.builder().jobLatency(Duration.ZERO).dataDir(dir.resolve("emulator")).start();
    try (Service service = Service.onEmulator(emulator)) {
      try (ResourceMonitor m = new ResourceMonitor(BenchmarkCommand::isEmulatorThread)) {
        monitor = m;
        result = command.runPipeline(options, service, EMULATOR_POLL, err);
      }
      stats = emulator.stats();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    // For profiles: the run's time window, to pick its samples out of a recording of the whole benchmark.
    err.println("benchmark: " + name + " ran from epoch millis " + startMillis + " to " + System.currentTimeMillis());
    BatchCommand.deleteTree(dir.resolve("emulator"));
    BatchCommand.deleteTree(dir.resolve("staging"));
    Map<String, Long> connector = BatchCommand.counters(result, BatchCommand.CONNECTOR_NAMESPACE);
    Map<String, Long> mine = BatchCommand.counters(result, BatchCommand.NAMESPACE);
    long[] responses = readResults(dir, "out-responses-");
    long[] failures = readResults(dir, "out-failures-");
    ResourceMonitor.Usage usage = monitor.usage();

    figure(name + ".seconds", seconds(seconds));
    figure(name + ".promptsPerSecond", Math.round(prompts / seconds));
    figure(name + ".mbPerSecondIn", rate(connector.getOrDefault("bytesStaged", 0L), seconds));
    figure(name + ".mbPerSecondOut", rate(responses[2], seconds));
    figure(name + ".ratioToBaseline", ratio(prompts / seconds, baselineRate));
    figure(name + ".ratioToRunnerFloor", ratio(prompts / seconds, floorRate));
    figure(name + ".stageSeconds", millis(connector, "stageMillis"));
    figure(name + ".uploadSeconds", millis(connector, "uploadMillis"));
    figure(name + ".serviceSeconds", millis(connector, "serviceMillis"));
    figure(name + ".resultWaitSeconds", millis(connector, "resultWaitMillis"));
    figure(name + ".downloadParseSeconds", millis(connector, "readMillis"));
    figure(name + ".writeSeconds", millis(mine, "writeMillis"));
    figure(name + ".cpuSeconds", seconds(usage.processCpuSeconds));
    figure(name + ".emulatorCpuSeconds", seconds(usage.watchedCpuSeconds));
    figure(name + ".emulatorShareOfCpu", percent(usage.watchedCpuSeconds, usage.processCpuSeconds));
    figure(name + ".peakHeapMB", mb(usage.peakHeapBytes));
    figure(name + ".peakHeapAfterGcMB", mb(usage.peakHeapAfterGcBytes));
    figure(name + ".jobsCreated", stats.batchesCreated());
    boolean complete = responses[0] == prompts && responses[1] == expectedKeys && failures[0] == 0;
    figure(name + ".complete", (complete ? "yes" : "NO") + " (" + responses[0] + " responses, " + failures[0] + " failures, " + prompts + " prompts)");
    if (!complete) {
      throw new IOException(name + ": not every prompt came back exactly once (see " + name + ".complete)");
    }
  }

  /** {@code rate / reference} with two decimals, or n/a without a reference. */
  private static String ratio(double rate, double reference) {
    return reference > 0 ? String.format(Locale.ROOT, "%.2f", rate / reference) : "n/a";
  }

  private static String parallelism(BenchmarkOptions options) {
    if (options.getRunner().getSimpleName().startsWith("Flink")) {
      return " (parallelism " + options.as(org.apache.beam.runners.flink.FlinkPipelineOptions.class).getParallelism() + ")";
    }
    return " (targetParallelism " + options.as(org.apache.beam.runners.direct.DirectOptions.class).getTargetParallelism() + ")";
  }

  private static boolean isEmulatorThread(String thread) {
    return thread.startsWith("gemini-emulator-") || thread.startsWith("HTTP-Dispatcher");
  }

  private void figure(String name, Object value) {
    out.println(String.format(Locale.ROOT, "benchmark: %-32s %s", name, value));
  }

  private static String seconds(double s) {
    return String.format(Locale.ROOT, "%.2f", s);
  }

  private static String millis(Map<String, Long> counters, String name) {
    return seconds(counters.getOrDefault(name, 0L) / 1000.0);
  }

  private static String rate(long bytes, double seconds) {
    return String.format(Locale.ROOT, "%.1f", bytes / 1e6 / seconds);
  }

  private static String percent(double part, double whole) {
    return whole <= 0 ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * part / whole);
  }

  private static long mb(long bytes) {
    return bytes >> 20;
  }

  /**
   * Writes {@code n} distinct ASCII prompts of {@code bytes} bytes, one a line; returns the
   * fingerprint of their keys (as the command line keys them).
   */
  static long writePrompts(Path file, int n, int bytes) throws IOException {
    SplittableRandom random = new SplittableRandom(8);
    String fileName = file.getFileName().toString();
    long fingerprint = 0;
    StringBuilder line = new StringBuilder(bytes + 16);
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
      for (int i = 1; i <= n; i++) {
        line.setLength(0);
        line.append("Prompt ").append(i).append(':');
        while (line.length() < bytes) {
          line.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        }
        line.setLength(bytes);
        String text = line.toString();
        w.write(text);
        w.write('\n');
        fingerprint += fingerprint(InputLines.lineKey(fileName, i, text));
      }
    }
    return fingerprint;
  }

  /** A 64-bit hash of a key: summed over keys, it tells whether two sets of keys are equal. */
  private static long fingerprint(String key) {
    long h = 0x9E3779B97F4A7C15L;
    for (int i = 0; i < key.length(); i++) {
      h = (h ^ key.charAt(i)) * 0x100000001B3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    return h ^ (h >>> 33);
  }

  /** {lines, fingerprint of their keys, bytes} of the output files {@code dir/<prefix>*}. */
  static long[] readResults(Path dir, String prefix) throws IOException {
    long[] r = new long[3];
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, prefix + "*")) {
      for (Path f : files) {
        r[2] += Files.size(f);
        try (InputStream in = Files.newInputStream(f); JsonParser p = JSON.createParser(in)) {
          while (p.nextToken() == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String field = p.currentName();
              p.nextToken();
              if (field.equals("key")) {
                r[1] += fingerprint(p.getText());
              } else {
                p.skipChildren();
              }
            }
            r[0]++;
          }
        }
      }
    }
    return r;
  }
}
