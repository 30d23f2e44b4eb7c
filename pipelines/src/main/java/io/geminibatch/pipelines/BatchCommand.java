package io.geminibatch.pipelines;

import io.geminibatch.connector.GeminiBatchIO;
import io.geminibatch.connector.GenerateFailure;
import io.geminibatch.connector.client.GeminiBatchClient;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.WriteFiles;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.POutput;
import org.joda.time.Duration;

/**
 * What {@code generate} and {@code embed} share: read the input's lines into keyed requests, run
 * the connector's transform, write the results and the failures as JSONL, show the jobs' progress
 * and sum up. A subclass says only what differs: the element types and the transform.
 */
abstract class BatchCommand<InT, OutT, ResultT extends POutput, OptionsT extends GeminiBatchOptions> {
  /** Namespace of the command line's own counters. */
  static final String NAMESPACE = "gemini-batch";
  static final String CONNECTOR_NAMESPACE = "GeminiBatchIO";

  final String name;
  final Class<OptionsT> optionsClass;
  final String defaultModel;
  /**
   * The responses are written by the connector's read step ({@code withResultFiles}), so that none
   * crosses the runner's exchanges; false writes them with {@code WriteFiles} from the transform's
   * output, the simple twin the tests compare against.
   */
  boolean resultFiles = true;

  BatchCommand(String name, Class<OptionsT> optionsClass, String defaultModel) {
    this.name = name;
    this.optionsClass = optionsClass;
    this.defaultModel = defaultModel;
  }

  abstract Coder<InT> inputCoder();

  /** Builds an input from a key and a plain prompt or text. */
  abstract SerializableBiFunction<String, String, InT> fromPrompt();

  /** Builds an input from a key and a whole request as JSON. */
  abstract SerializableBiFunction<String, String, InT> fromRequest();

  /**
   * The connector's transform: {@code shared.configure(...)} applies the settings both commands
   * have; the subclass adds its own options.
   */
  abstract PTransform<PCollection<InT>, ResultT> transform(OptionsT options, Shared shared);

  abstract PCollection<OutT> outputs(ResultT result);

  abstract PCollection<GenerateFailure> failures(ResultT result);

  /** One output line per result, as UTF-8 ending in a newline. */
  abstract SerializableFunction<OutT, byte[]> outputLine();

  /** The connector's settings both commands take from their options. */
  static final class Shared {
    private final GeminiBatchOptions options;
    private final Service service;
    private final String staging;
    private final Duration pollInterval;
    private final String resultFiles;

    Shared(GeminiBatchOptions options, Service service, String staging, Duration pollInterval, String resultFiles) {
      this.options = options;
      this.service = service;
      this.staging = staging;
      this.pollInterval = pollInterval;
      this.resultFiles = resultFiles;
    }

    <T extends GeminiBatchIO.BatchTransform<?, ?, T>> T configure(T transform) {
      T t = options.getModel() == null ? transform : transform.withModel(options.getModel());
      if (options.getWebhookUri() != null && !options.getWebhookUri().isEmpty()) {
        // The events say which run the job belongs to: listen --stagingLocation finds its ledger.
        t = t.withWebhookConfig(options.getWebhookUri(), Map.of("stagingLocation", staging));
      }
      t = resultFiles == null ? t : t.withResultFiles(resultFiles);
      return service.configure(t.withDetach(options.getDetach()))
          .withStagingLocation(staging)
          .withMaxRequestsPerJob(options.getMaxRequestsPerJob())
          .withMaxAttempts(options.getMaxAttempts())
          // The command cleans up itself once every output is written (RunCleanup): a run stopped
          // midway keeps every job it created in the ledger, so the rerun pays for none twice.
          .withKeepArtifacts(true)
          .withPollInterval(pollInterval)
          .withMaxQueueWait(QueueWatch.parseDuration("--maxQueueWait", options.getMaxQueueWait()))
          .withMaxConcurrentJobs(options.getMaxConcurrentJobs())
          .withMaxEnqueuedTokens(options.getMaxEnqueuedTokens());
    }
  }

  /** The command line as the user would type it again (the API key left out), or null. */
  private List<String> commandLine;

  /** The staging location of the last run (what a detached run reports). */
  private StagingLocations.Location detachedStaging;

  /** The arguments of the command that collects a detached run (no key, no --detach). */
  private List<String> collectArgs;

  /** After a detached run: the jobs it left running and the command that collects them. */
  private void detached(PipelineResult run, GeminiBatchOptions options, Service service, PrintStream err)
      throws IOException {
    int[] creating = new int[1];
    List<String> jobs = StagingLocations.recordedJobs(detachedStaging, creating);
    Map<String, Long> connector = counters(run, CONNECTOR_NAMESPACE);
    err.println(
        "gemini-batch: detached: " + jobs.size() + " batch jobs exist (" + connector.getOrDefault("jobsSubmitted", 0L)
            + " created now), recorded in " + detachedStaging);
    for (int i = 0; i < jobs.size() && i < 20; i++) {
      err.println("gemini-batch:   " + jobs.get(i));
    }
    if (jobs.size() > 20) {
      err.println("gemini-batch:   ... and " + (jobs.size() - 20) + " more");
    }
    List<String> collect = new ArrayList<>();
    for (String a : commandLine) {
      if (!a.equals("--detach") && !a.startsWith("--detach=")) {
        collect.add(a);
      }
    }
    DetachedRuns.record(detachedStaging, collectArgs);
    err.println("gemini-batch: to collect the results (waits for the jobs, creates none), run:");
    err.println("  " + String.join(" ", collect));
    err.println("gemini-batch: progress: " + Help.JAR + " jobs list" + (service.isEmulator() ? "" : " --baseUrl=" + service.baseUrl()));
  }

  /** Runs the command; returns the exit status. */
  int run(String[] args, PrintStream err, Map<String, String> env) throws UsageException, IOException {
    long startNanos = System.nanoTime();
    OptionsT options = Args.parse(args, optionsClass);
    Args.refuseStreaming(options);
    FileSystems.setDefaultPipelineOptions(options);
    boolean dryRun = Dataflow.dryRunDir(options) != null;
    EmbeddedFlink flink = null;
    if (!Dataflow.prepare(args, options, env)) {
      if (Args.defaultRunner(args, options, inputBytes(options.getInput(), options), env)) {
        // Starts while the rest of this method builds the pipeline.
        flink = EmbeddedFlink.start(options.as(FlinkPipelineOptions.class));
      }
    } else if (!dryRun || StagingLocations.isLocal(options.getInput())) {
      inputBytes(options.getInput(), options); // a usage error when nothing matches (offline, local inputs only)
    }
    try (EmbeddedFlink started = flink) {
      return run(args, options, dryRun, startNanos, err, env);
    }
  }

  private int run(String[] args, OptionsT options, boolean dryRun, long startNanos, PrintStream err, Map<String, String> env)
      throws UsageException, IOException {
    if (!dryRun) {
      CloudStorageChecks.checkWritable("--output", options.getOutput());
      CloudStorageChecks.checkWritable("--stagingLocation", StagingLocations.given(options));
    }
    InputLines.Format.parse(options.getInputFormat());
    commandLine = new ArrayList<>(List.of(Help.JAR, name));
    collectArgs = new ArrayList<>(List.of(name));
    for (String a : args) {
      commandLine.add(a.startsWith("--apiKey=") ? "--apiKey=YOUR_KEY" : a);
      if (!a.startsWith("--apiKey=") && !a.equals("--detach") && !a.startsWith("--detach=")) {
        collectArgs.add(a);
      }
    }
    try (Service service = Service.forBatch(options, env, err)) {
      if (options.getDetach() && service.isEmulator()) {
        throw new UsageException(
            "--detach: the built-in emulator's jobs end with this process; give an API key (or --baseUrl"
                + " of a standalone emulator and any --apiKey) to detach");
      }
      // A dry run reads nothing of the input or the output (they may be gs:// paths, offline).
      String fingerprint = dryRun ? null : CompletedRun.fingerprint(commandLine, service.baseUrl(), options.getInput());
      if (!options.getDetach() && !options.getRunAgain() && !dryRun) {
        java.util.Optional<CompletedRun> done = CompletedRun.find(options.getOutput(), fingerprint);
        if (done.isPresent()) {
          err.println("gemini-batch: already done: this command completed at " + done.get().finished + " with "
              + done.get().responses + " responses and " + done.get().failures + " failures in "
              + outputName(options.getOutput(), "responses") + "-*.jsonl and " + outputName(options.getOutput(), "failures")
              + "-*.jsonl (the input files are unchanged); nothing was sent. To run it again and pay again: --runAgain");
          return 0;
        }
      }
      PipelineResult run = runPipeline(options, service, null, err);
      if (dryRun) {
        err.println("gemini-batch: dry run: the Dataflow job is in " + Dataflow.dryRunDir(options) + " ("
            + Dataflow.JOB_FILE + ", its specification; " + Dataflow.PIPELINE_FILE + ", the portable pipeline);"
            + " nothing was submitted");
        return 0;
      }
      if (Dataflow.submitOnly && Dataflow.isDataflow(options)) {
        err.println("gemini-batch: submitted to Dataflow: " + Dataflow.describe(run));
        return 0;
      }
      if (options.getDetach()) {
        detached(run, options, service, err);
      } else {
        long[] counts = summarize(run, options, service, startNanos, err);
        CompletedRun.record(options.getOutput(), fingerprint, counts[0], counts[1]);
      }
      return 0;
    }
  }

  /**
   * Builds and runs the pipeline on {@code service} to its end. {@code pollInterval}, when not
   * null, overrides {@code --pollInterval} (the benchmark polls an emulator that answers in
   * milliseconds).
   */
  PipelineResult runPipeline(OptionsT options, Service service, Duration pollInterval, PrintStream err)
      throws UsageException, IOException {
    StagingLocations.Location staging =
        StagingLocations.of(name, options, service.baseUrl(), service.isEmulator());
    // A dry run touches nothing of the staging location: it only builds the job.
    boolean dryRun = Dataflow.dryRunDir(options) != null;
    RunLock lock = staging.temporary || dryRun ? null : RunLock.acquire(staging);
    boolean complete = false;
    boolean submitted = false; // and not waited for: the job's files stay
    String stagingDirectory = null;
    try (StopNotice notice =
        StopNotice.register(staging, service, lock, commandLine != null ? commandLine : List.of("the same command"), err)) {
      if (!staging.temporary && !dryRun) {
        int[] creating = new int[1];
        int earlier = StagingLocations.recordedJobs(staging, creating).size() + creating[0];
        if (earlier > 0) {
          err.println("gemini-batch: resuming: " + earlier + " batch jobs of an earlier run are recorded in "
              + staging + "; they are collected, not created again");
        }
      }
      int pollSeconds =
          options.getPollInterval() != null ? options.getPollInterval() : service.isEmulator() ? 1 : 30;
      Duration poll = pollInterval != null ? pollInterval : Duration.standardSeconds(pollSeconds);
      InputLines.Format format = InputLines.Format.parse(options.getInputFormat());
      Pipeline pipeline = Pipeline.create(options);
      String responseFiles = resultFiles ? outputName(options.getOutput(), "responses") : null;
      try {
        InputLines.Read<InT> read = InputLines.read(options.getInput(), format, fromPrompt(), fromRequest(), inputCoder());
        PCollectionTuple input = pipeline.apply("ReadInput", read);
        PTransform<PCollection<InT>, ResultT> transform =
            transform(options, new Shared(options, service, staging.path, poll, responseFiles));
        if (transform instanceof GeminiBatchIO.BatchTransform) {
          stagingDirectory = ((GeminiBatchIO.BatchTransform<?, ?, ?>) transform).stagingDirectory();
        }
        ResultT result = input.get(read.requests).apply(name, transform);
        if (!options.getDetach()) {
          // Detached, nothing is written: the run that collects writes every result and failure.
          if (responseFiles == null) {
            write(outputs(result), "responses", outputLine(), options.getOutput(), null);
          }
          write(failures(result), "failures", JsonLines::failure, options.getOutput(), input.get(InputLines.INVALID));
        }
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        // The connector's settings name the bad value and the valid range.
        throw new UsageException(e.getMessage());
      }
      if (!options.getDetach() && !dryRun) {
        // No marker may stand over outputs this run has not finished (see CompletedRun).
        CompletedRun.delete(options.getOutput());
        removeEarlierOutputs(options.getOutput(), err);
      }
      if (dryRun || (Dataflow.submitOnly && Dataflow.isDataflow(options))) {
        // Dataflow writes the job's files (a dry run) or submits it, and returns.
        PipelineResult run = pipeline.run();
        submitted = true;
        return run;
      }
      detachedStaging = staging;
      PipelineResult run =
          execute(pipeline, service, staging.path, java.time.Duration.ofSeconds(Math.min(pollSeconds, 30)), err);
      complete = true;
      return run;
    } finally {
      try {
        if (submitted || (complete && options.getDetach())) {
          // The ledger holds the jobs: it stays for the run that collects them.
        } else if (complete || staging.temporary) {
          if (complete && stagingDirectory != null && !options.getKeepArtifacts()) {
            try (GeminiBatchClient client = service.client()) {
              RunCleanup.cleanUp(stagingDirectory, client, err);
            }
          }
          int left = StagingLocations.deleteIfDone(staging, options.getKeepArtifacts());
          if (left > 0) {
            err.println("gemini-batch: " + staging + " still records " + left + " batch jobs of an earlier run"
                + " with other settings (e.g. --model); it is kept so that the command that created them"
                + " collects them (or " + Help.JAR + " jobs list / jobs cancel NAME)");
          }
        } else {
          int[] creating = new int[1];
          int left = StagingLocations.recordedJobs(staging, creating).size() + creating[0];
          if (left > 0) {
            err.println("gemini-batch: " + left + " batch jobs of this run are recorded in " + staging
                + ": run the same command again to collect them without creating them again");
          }
        }
      } finally {
        if (lock != null) {
          lock.close();
        }
      }
    }
  }

  /**
   * Deletes the output files an earlier run left under the same {@code --output}: a rerun may
   * write its results in a different number of files, and the earlier run's would then stand
   * next to them under the same {@code PREFIX-responses-*.jsonl}. Only files named as this
   * command names its own ({@code PREFIX-what-SSSSS-of-NNNNN.jsonl}, and the read step's {@code
   * PREFIX-responses-JOBID-NNNNN.jsonl}) are touched.
   */
  private static final java.util.regex.Pattern OWN_OUTPUT =
      java.util.regex.Pattern.compile(".*-(responses|failures)-([0-9]{5}-of-[0-9]{5}|[A-Za-z0-9_-]+-[0-9]{5,})\\.jsonl");

  static void removeEarlierOutputs(String output, PrintStream err) throws IOException {
    List<ResourceId> earlier = new ArrayList<>();
    for (String what : List.of("responses", "failures")) {
      String pattern = outputName(output, what) + "-*[0-9][0-9][0-9][0-9][0-9].jsonl";
      MatchResult match = FileSystems.match(pattern, EmptyMatchTreatment.ALLOW);
      if (match.status() == MatchResult.Status.OK) {
        for (MatchResult.Metadata file : match.metadata()) {
          if (OWN_OUTPUT.matcher(file.resourceId().getFilename()).matches()) {
            earlier.add(file.resourceId());
          }
        }
      }
    }
    if (!earlier.isEmpty()) {
      err.println("gemini-batch: replacing " + earlier.size() + " output files of an earlier run under " + output);
      FileSystems.delete(earlier, MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
    }
  }

  /** Runs the pipeline to its end, with the jobs' progress on {@code err}. */
  private static PipelineResult execute(
      Pipeline pipeline, Service service, String staging, java.time.Duration progressInterval, PrintStream err)
      throws IOException {
    try (JobWatcher watcher = JobWatcher.startWithOwnClient(service::client, err, progressInterval, new QueueWatch(staging))) {
      PipelineResult run = pipeline.run();
      PipelineResult.State state = run.waitUntilFinish();
      if (state != PipelineResult.State.DONE) {
        throw new IOException("the pipeline ended " + state);
      }
      return run;
    } catch (RuntimeException e) {
      throw new IOException("the pipeline failed: " + Errors.describe(e));
    }
  }

  /** The input's size in bytes; a usage error when no file matches it. */
  private static long inputBytes(String input, PipelineOptions options) throws UsageException, IOException {
    if (isMissingLocalFile(input)) {
      // Beam's local match of a path that does not exist walks its parent folder's whole tree
      // (for /missing.txt, the whole disk) looking for glob matches: answer before that.
      throw new UsageException("--input: no file matches " + input + " (no such file)");
    }
    MatchResult match = FileSystems.match(input, EmptyMatchTreatment.ALLOW);
    if (match.status() != MatchResult.Status.OK || match.metadata().isEmpty()) {
      throw new UsageException(
          "--input: "
              + (input.startsWith("gs://") ? CloudStorageChecks.whyNoMatch(input, options) : "no file matches " + input));
    }
    long bytes = 0;
    for (MatchResult.Metadata file : match.metadata()) {
      bytes += file.sizeBytes();
    }
    return bytes;
  }

  /** A local path with no glob characters that names no file. */
  static boolean isMissingLocalFile(String input) {
    String path = input.startsWith("file://") ? input.substring("file://".length()) : input;
    if (path.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*") || path.matches(".*[*?\\[{].*")) {
      return false; // another file system, or a glob: Beam matches it
    }
    return !java.nio.file.Files.exists(java.nio.file.Paths.get(path));
  }

  /**
   * Writes {@code PREFIX-what-SSSSS-of-NNNNN.jsonl} files, the lines' bytes as they are: a line per
   * element, and the lines of {@code moreLines} (already formatted and counted) when not null.
   */
  private static <T> void write(
      PCollection<T> elements,
      String what,
      SerializableFunction<T, byte[]> format,
      String output,
      PCollection<byte[]> moreLines) {
    ResourceId prefix = FileSystems.matchNewResource(outputName(output, what), false);
    PCollection<byte[]> lines =
        elements.apply("To" + what, ParDo.of(new ToLineFn<>(what, format))).setCoder(ByteArrayCoder.of());
    if (moreLines != null) {
      lines = PCollectionList.of(lines).and(moreLines).apply("All" + what, Flatten.pCollections());
    }
    lines.apply("Write" + what, WriteFiles.to(new JsonlSink(prefix)));
  }

  /** {@code PREFIX-what}, or {@code DIR/what} when the output ends with a slash. */
  static String outputName(String output, String what) {
    return (output.endsWith("/") ? output : output + "-") + what;
  }

  /**
   * Formats an element as its output line, counting them and the time taken ({@code writeMillis}:
   * formatting, and on runners that fuse steps, such as Flink, the file write downstream too).
   * Both are counted per bundle: a metric update per line would cost more than the line.
   */
  static final class ToLineFn<T> extends DoFn<T, byte[]> {
    private final SerializableFunction<T, byte[]> format;
    private final Counter count;
    private final Counter writeMillis = Metrics.counter(NAMESPACE, "writeMillis");
    private transient long lines;
    private transient long nanos;

    ToLineFn(String what, SerializableFunction<T, byte[]> format) {
      this.format = format;
      this.count = Metrics.counter(NAMESPACE, what);
    }

    @ProcessElement
    public void process(@Element T element, OutputReceiver<byte[]> out) {
      long start = System.nanoTime();
      lines++;
      out.output(format.apply(element));
      nanos += System.nanoTime() - start;
    }

    @FinishBundle
    public void finishBundle() {
      count.inc(lines);
      lines = 0;
      // Whole milliseconds per bundle; the remainder carries over to the next one.
      writeMillis.inc(nanos / 1_000_000);
      nanos %= 1_000_000;
    }
  }

  /** Prints the run's summary; returns its responses and failures. */
  private long[] summarize(
      PipelineResult run, GeminiBatchOptions options, Service service, long startNanos, PrintStream err) {
    Map<String, Long> mine = counters(run, NAMESPACE);
    Map<String, Long> connector = counters(run, CONNECTOR_NAMESPACE);
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    // The read step counts the responses it writes itself.
    long responses = mine.getOrDefault("responses", resultFiles ? connector.getOrDefault("responses", 0L) : 0L);
    long failures = mine.getOrDefault("failures", 0L);
    err.println(
        String.format(
            Locale.ROOT,
            "gemini-batch: done in %.1f s: %d responses, %d failures; batch jobs submitted: %d",
            seconds,
            responses,
            failures,
            connector.getOrDefault("jobsSubmitted", 0L)));
    long prompt = connector.getOrDefault("promptTokens", 0L);
    long candidates = connector.getOrDefault("candidatesTokens", 0L);
    String model = options.getModel() == null ? defaultModel : options.getModel();
    err.println(
        prompt + candidates == 0
            ? "gemini-batch: tokens: none reported, so no cost estimate"
            : "gemini-batch: tokens: " + prompt + " prompt, " + candidates + " candidates; "
                + Prices.estimate(model, prompt, candidates)
                + (service.isEmulator() ? "; the emulator billed nothing" : ""));
    err.println(
        "gemini-batch: wrote " + outputName(options.getOutput(), "responses") + "-*.jsonl and "
            + outputName(options.getOutput(), "failures") + "-*.jsonl");
    return new long[] {responses, failures};
  }

  /** Counters of one namespace, summed over steps (attempted values: every runner has them). */
  static Map<String, Long> counters(PipelineResult run, String namespace) {
    Map<String, Long> sums = new HashMap<>();
    try {
      for (MetricResult<Long> c :
          run.metrics()
              .queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.inNamespace(namespace)).build())
              .getCounters()) {
        sums.merge(c.getName().getName(), c.getAttempted(), Long::sum);
      }
    } catch (UnsupportedOperationException e) {
      // A runner without metrics: the summary shows zeros.
    }
    return sums;
  }

  /** Deletes a local directory and everything in it, if it exists. */
  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
