package io.geminibatch.pipelines;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The command line: {@code generate}, {@code embed}, {@code jobs}, {@code webhooks}, {@code listen}
 * and {@code benchmark}. See {@link Help} or run
 * with {@code --help}.
 */
public final class Main {
  /** Exit status of a bad command line. */
  static final int USAGE = 2;

  /** Exit status when the service refused, could not be reached, or the pipeline failed. */
  static final int FAILED = 1;

  /** The JDK HTTP client's buffer size, read once, when the client's first class loads. */
  static final String HTTP_BUFFER_PROPERTY = "jdk.httpclient.bufsize";
  /** See {@link #bulkHttpBuffers}. */
  static final int HTTP_BUFFER_BYTES = 1 << 20;

  private Main() {}

  /**
   * Sets the JDK HTTP client's read buffers to {@value #HTTP_BUFFER_BYTES} bytes unless the user
   * set them ({@code -Djdk.httpclient.bufsize}). Its default of 16 KB hands a result file to the
   * reader in 16 KB pieces, each a wake-up between the client's threads: at 1,000,000 prompts
   * (1.3 GB of results) its threads took 3.4 to 4.3 CPU-s, 1.7 and 1.9 with 1 MB (2 cores, four
   * runs and two, per thread from {@code /proc}). Uploads are unchanged: they go in slices of 256
   * KB already. Only this command line sets it: a library does not change a JVM-wide setting
   * under its user.
   */
  static void bulkHttpBuffers(java.util.Properties properties) {
    if (properties.getProperty(HTTP_BUFFER_PROPERTY) == null) {
      properties.setProperty(HTTP_BUFFER_PROPERTY, Integer.toString(HTTP_BUFFER_BYTES));
    }
  }

  public static void main(String[] args) throws InterruptedException {
    Map<String, String> env = System.getenv();
    java.util.OptionalLong launcher = ChildJvm.launcherPid(env);
    if (launcher.isPresent()) {
      ChildJvm.stopWithLauncher(launcher.getAsLong(), System.err);
    } else {
      // A local run goes to a JVM sized for it (ChildJvm): this one only waits for it.
      List<String> child = ChildJvm.childCommand(args, env, ChildJvm.Jvm::current);
      if (child != null) {
        int status = ChildJvm.run(child, System.err);
        if (status >= 0) {
          System.exit(status);
        }
      }
    }
    // This process runs one command: Beam's options registry holds what its command line names.
    OptionsRegistry.startEmpty();
    bulkHttpBuffers(System.getProperties());
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the exit status. Results go to {@code out}, progress to {@code err}. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, System.getenv());
  }

  /** The same, looking for the API key in {@code env} instead of the process's environment. */
  static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
    if (args.length == 0) {
      Help.tool(err);
      return USAGE;
    }
    String command = args[0];
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    if (List.of("--help", "-h", "help").contains(command)) {
      Help.tool(out);
      return 0;
    }
    try {
      switch (command) {
        case "generate":
          return batch(new GenerateCommand(), rest, out, err, env);
        case "embed":
          return batch(new EmbedCommand(), rest, out, err, env);
        case "jobs":
          return jobs(rest, out, env);
        case "webhooks":
          if (Args.wantsHelp(rest)) {
            return help("webhooks", WebhooksOptions.class, rest, out);
          }
          return WebhooksCommand.run(words(rest, false), words(rest, true).toArray(new String[0]), out, env);
        case "listen":
          if (Args.wantsHelp(rest)) {
            return help("listen", ListenOptions.class, rest, out);
          }
          return ListenCommand.run(rest, out, err, env, new java.util.concurrent.CountDownLatch(1));
        case "benchmark":
          return Args.wantsHelp(rest) ? help("benchmark", BenchmarkOptions.class, rest, out) : BenchmarkCommand.run(rest, out, err);
        default:
          throw new UsageException(
              "unknown command '" + command + "': use generate, embed, jobs, webhooks, listen or benchmark (--help)");
      }
    } catch (UsageException e) {
      err.println("gemini-batch: " + e.getMessage());
      return USAGE;
    } catch (IOException | RuntimeException e) {
      err.println("gemini-batch: error: " + Errors.describe(e));
      return FAILED;
    }
  }

  private static int batch(
      BatchCommand<?, ?, ?, ?> command, String[] args, PrintStream out, PrintStream err, Map<String, String> env)
      throws UsageException, IOException {
    if (Args.wantsHelp(args)) {
      return help(command.name, command.optionsClass, args, out);
    }
    return command.run(args, err, env);
  }

  private static int jobs(String[] args, PrintStream out, Map<String, String> env)
      throws UsageException, IOException {
    if (Args.wantsHelp(args)) {
      return help("jobs", JobsOptions.class, args, out);
    }
    List<String> words = new ArrayList<>();
    List<String> flags = new ArrayList<>();
    for (String a : args) {
      (a.startsWith("--") ? flags : words).add(a);
    }
    return JobsCommand.run(words, flags.toArray(new String[0]), out, env);
  }

  /** The flags ({@code --...}) of {@code args}, or the other words. */
  private static List<String> words(String[] args, boolean flags) {
    List<String> out = new ArrayList<>();
    for (String a : args) {
      if (a.startsWith("--") == flags) {
        out.add(a);
      }
    }
    return out;
  }

  private static int help(
      String name, Class<? extends org.apache.beam.sdk.options.PipelineOptions> options, String[] args, PrintStream out)
      throws UsageException {
    for (String a : args) {
      if (a.startsWith("--help=")) {
        String beam = a.substring("--help=".length());
        if (!Help.beamOptions(beam, out)) {
          throw new UsageException("--help: no Beam options interface named '" + beam + "'");
        }
        return 0;
      }
    }
    Help.command(name, options, out);
    return 0;
  }
}
