package io.geminibatch.pipelines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;

/** Beam's own option parsing, with its errors turned into usage errors. */
final class Args {
  private Args() {}

  /** True when {@code args} ask for help ({@code --help}, {@code -h} or {@code --help=...}). */
  static boolean wantsHelp(String[] args) {
    return Arrays.stream(args).anyMatch(a -> a.equals("-h") || a.equals("--help") || a.startsWith("--help="));
  }

  /**
   * Parses and validates {@code args} as {@code options}: every option of Beam and of the runners
   * on the class path is accepted beside the command's own.
   */
  static <T extends PipelineOptions> T parse(String[] args, Class<T> options) throws UsageException {
    return parse(args, options, true);
  }

  /** The same without checking required options (the benchmark sets them itself). */
  static <T extends PipelineOptions> T parseUnvalidated(String[] args, Class<T> options) throws UsageException {
    return parse(args, options, false);
  }

  /**
   * Refuses {@code --streaming=true}: the command reads files, a bounded input, and runs a batch
   * pipeline. In streaming mode a runner treats it as a stream: on Flink the connector's
   * stable-input steps then need checkpointing and the job's sources an idle shutdown
   * ({@code --shutdownSourcesAfterIdleMs}) to end at all, for no gain over batch mode. An unbounded
   * input (Pub/Sub, Kafka) is a pipeline of the user's own around {@code GeminiBatchIO} (README,
   * "Streaming").
   */
  static void refuseStreaming(PipelineOptions options) throws UsageException {
    if (options.as(StreamingOptions.class).isStreaming()) {
      throw new UsageException(
          "--streaming=true: the command line reads files and runs as a batch job; for an unbounded"
              + " input, apply GeminiBatchIO in a streaming pipeline of your own (README, \"Streaming\")");
    }
  }

  /** Inputs from this size on run on Flink by default; smaller ones on the Direct runner. */
  static final long FLINK_FROM_BYTES = 32L << 20;

  /**
   * Set by {@link CdsTraining} alone, for its second run: a small input then takes the embedded
   * Flink cluster as a large one does, so that the jar's class-data archive holds Flink's classes
   * too (an interpreted run over {@value #FLINK_FROM_BYTES} bytes took 141 s of the build).
   */
  static volatile boolean embeddedFlinkForTraining;

  /**
   * The runner of {@code generate} and {@code embed} when {@code --runner} is not given, chosen by
   * the input's size ({@code benchmark}, prompts of 1 KB, 2 cores): the Direct runner, without
   * its immutability and encodability checks (which re-encode every element at every step; the
   * command's steps never mutate their input), for inputs under {@value #FLINK_FROM_BYTES} bytes:
   * 9 s for 20,000 prompts against 15 s on Flink, most of which Flink spends starting and
   * scheduling its stages; Flink embedded in this JVM ({@code [local]}) for larger ones, with
   * {@link #defaultParallelism} parallel tasks unless {@code --parallelism} says otherwise: 13 s
   * for 100,000 prompts against 19 s, and 29 to 31 s for 1,000,000 against 121 s, where the
   * Direct runner's heap stays full (6 GB). The
   * embedded cluster gets {@link #LOCAL_FLINK_CONF} unless {@code --flinkConfDir} or {@code
   * FLINK_CONF_DIR} names a configuration of the user's. {@code --flinkMaster} alone means Flink
   * at that master, at any size. Returns true when it chose the embedded Flink cluster (see {@link
   * EmbeddedFlink}).
   */
  static boolean defaultRunner(String[] args, PipelineOptions options, long inputBytes, Map<String, String> env) {
    if (Arrays.stream(args).anyMatch(a -> a.startsWith("--runner="))) {
      return false;
    }
    if (given(args, "--flinkMaster=")) {
      // A Flink master names where to run, whatever the input's size: Flink, as given.
      options.setRunner(FlinkRunner.class);
      return false;
    }
    if (inputBytes < FLINK_FROM_BYTES && !embeddedFlinkForTraining) {
      options.setRunner(DirectRunner.class);
      DirectOptions direct = options.as(DirectOptions.class);
      direct.setEnforceImmutability(given(args, "--enforceImmutability=") && direct.isEnforceImmutability());
      direct.setEnforceEncodability(given(args, "--enforceEncodability=") && direct.isEnforceEncodability());
      return false;
    }
    options.setRunner(FlinkRunner.class);
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    flink.setFlinkMaster("[local]");
    if (!given(args, "--parallelism=")) {
      flink.setParallelism(defaultParallelism(Runtime.getRuntime().availableProcessors()));
    }
    if (!given(args, "--flinkConfDir=") && env.get("FLINK_CONF_DIR") == null) {
      flink.setFlinkConfDir(localFlinkConf().toString());
    }
    return true;
  }

  /**
   * The embedded cluster's parallel tasks on {@code cores} cores: one per core, and at least two,
   * so that on one core a task's wait on the service still overlaps another's work (one core
   * not measured; it kept the two it had). It was twice the cores, so that uploads and downloads
   * waiting on the service would overlap; on 2 cores against the emulator, by hand, alternating,
   * 2 tasks took less CPU and less time than 4 in every pair: 1,000,000 prompts 36.0, 37.5, 35.5
   * CPU-s (24.2, 26.6, 24.2 s) against 41.2, 39.5, 38.0 (27.3, 27.5, 25.3 s); 300,000 prompts
   * 25.5, 23.2, 25.6 (15.6, 14.2, 15.4 s) against 27.8, 28.6, 25.6 (17.1, 17.2, 15.6 s). Each task
   * of a step is deployed and deserialized on its own, its pack step holds a budget of lines, and
   * two tasks per core only take turns on it. Half as many downloads run at once;
   * where the network, not the machine, limits them, {@code --parallelism} raises it.
   */
  static int defaultParallelism(int cores) {
    return Math.max(2, cores);
  }

  /**
   * The embedded Flink cluster's configuration ({@code config.yaml}). Flink compresses the data a
   * batch job exchanges between its steps (LZ4) to save disk and network; in one process on one
   * machine the exchange stays in the page cache and the compression only costs CPU: 43% of the
   * read step's samples, and 80 against 66 CPU-seconds for 1,000,000 prompts ({@code benchmark}, 2
   * cores).
   *
   * <p>Requests up to the 10 MB request limit travel as records of that size (a pack holding one
   * request). With the 128 MB of managed memory Flink gives a local cluster, a sorter's buffer
   * (a share of a slot's share) is smaller than that, and the job fails with "Cannot write record
   * to fresh sort buffer. Record too large." (a 9 MB prompt in a 36 MB input did): 512 MB of
   * managed memory, and the large-record handler (a record too large for the sort buffer is
   * spilled and sorted by its key alone) where Flink's sorters have one.
   */
  static final String LOCAL_FLINK_CONF =
      "taskmanager.network.blocking-shuffle.compression.enabled: false\n"
          + "taskmanager.memory.managed.size: 512m\n"
          + "taskmanager.runtime.large-record-handler: true\n";

  /** A directory holding {@link #LOCAL_FLINK_CONF}, deleted when the JVM exits. */
  static Path localFlinkConf() {
    try {
      Path dir = Files.createTempDirectory("gemini-batch-flink-");
      Path file = dir.resolve("config.yaml");
      // Deleted in the reverse order of registration: the file, then its directory.
      dir.toFile().deleteOnExit();
      file.toFile().deleteOnExit();
      Files.writeString(file, LOCAL_FLINK_CONF);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the embedded Flink cluster's configuration in " + System.getProperty("java.io.tmpdir"), e);
    }
  }

  private static boolean given(String[] args, String option) {
    return Arrays.stream(args).anyMatch(a -> a.startsWith(option));
  }

  private static <T extends PipelineOptions> T parse(String[] args, Class<T> options, boolean validate)
      throws UsageException {
    Dataflow.registerOptionsIfAsked(args);
    OptionsRegistry.registerFor(args, options);
    try {
      PipelineOptionsFactory.Builder builder = PipelineOptionsFactory.fromArgs(args);
      return (validate ? builder.withValidation() : builder).as(options);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new UsageException(message.lines().findFirst().orElse(message));
    }
  }
}
