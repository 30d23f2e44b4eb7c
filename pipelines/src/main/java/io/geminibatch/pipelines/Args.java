package io.geminibatch.pipelines;

import java.util.Arrays;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

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
   * The runner of {@code generate} and {@code embed} when {@code --runner} is not given: Flink
   * embedded in this JVM ({@code [local]}), with twice as many parallel tasks as cores unless
   * {@code --parallelism} says otherwise. Measured with {@code benchmark} on 1,000,000 prompts of
   * 1 KB on 2 cores: Flink 38 s with 4 tasks, 42 s with 2; the Direct runner 89 s with its
   * immutability and encodability checks off (far longer with them on) and every request held in
   * its heap. See pipelines/README.md.
   */
  static void defaultRunner(String[] args, PipelineOptions options) {
    if (Arrays.stream(args).anyMatch(a -> a.startsWith("--runner="))) {
      return;
    }
    options.setRunner(FlinkRunner.class);
    FlinkPipelineOptions flink = options.as(FlinkPipelineOptions.class);
    flink.setFlinkMaster("[local]");
    if (Arrays.stream(args).noneMatch(a -> a.startsWith("--parallelism="))) {
      flink.setParallelism(2 * Runtime.getRuntime().availableProcessors());
    }
  }

  private static <T extends PipelineOptions> T parse(String[] args, Class<T> options, boolean validate)
      throws UsageException {
    try {
      PipelineOptionsFactory.Builder builder = PipelineOptionsFactory.fromArgs(args);
      return (validate ? builder.withValidation() : builder).as(options);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      throw new UsageException(message.lines().findFirst().orElse(message));
    }
  }
}
