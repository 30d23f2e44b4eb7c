package io.geminibatch.pipelines;

import java.io.PrintStream;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/** The {@code --help} texts. Option lists are read from the options interfaces themselves. */
final class Help {
  static final String JAR = "java -jar gemini-batch.jar";

  private Help() {}

  static void tool(PrintStream out) {
    out.println("gemini-batch: the Gemini API's Batch API (half price) on Apache Beam.");
    out.println();
    out.println("Usage:");
    out.println("  " + JAR + " generate --input=PATH --output=PREFIX [options] [Beam options]");
    out.println("  " + JAR + " embed    --input=PATH --output=PREFIX [options] [Beam options]");
    out.println("  " + JAR + " jobs     list | get NAME | cancel NAME | delete NAME [--apiKey=KEY] [--baseUrl=URL]");
    out.println("  " + JAR + " webhooks create --uri=URL [--events=E1,E2] [--name=N] | list | get ID | delete ID | ping ID | rotate-secret ID");
    out.println("  " + JAR + " listen   --port=N --secret=whsec_... [--events=FILE]");
    out.println("  " + JAR + " benchmark [--prompts=N] [--promptBytes=B] [--runner=...] [--work=DIR]");
    out.println();
    out.println("The API key comes from GEMINI_API_KEY, GOOGLE_API_KEY or --apiKey. Without one, generate");
    out.println("and embed run on a built-in emulator (echoed answers, nothing billed), so the same command");
    out.println("works before and after you have a key. On a cluster, --apiKeySecret (Secret Manager) or");
    out.println("--apiKeyFile (any path, gs:// included) has the workers read the key themselves.");
    out.println();
    out.println("A local generate or embed runs in a JVM this one starts, sized for the run (2 GB of heap on");
    out.println("2 cores, the jar's class-data archive); GEMINI_BATCH_SAME_JVM=1 or -Xmx runs it in this one.");
    out.println();
    out.println("Run a command with --help for its options; --help=NAME prints a Beam options interface,");
    out.println("e.g. " + JAR + " generate --help=FlinkPipelineOptions");
  }

  static void command(String name, Class<? extends PipelineOptions> options, PrintStream out) {
    switch (name) {
      case "generate":
        out.println("Usage: " + JAR + " generate --input=PATH --output=PREFIX [options] [Beam options]");
        out.println();
        out.println("Sends every line of the input to the Batch API (batchGenerateContent) and writes the answers.");
        batchFormats("{\"key\": ..., \"response\": GenerateContentResponse as returned}", "GenerateContentRequest", out);
        break;
      case "embed":
        out.println("Usage: " + JAR + " embed --input=PATH --output=PREFIX [options] [Beam options]");
        out.println();
        out.println("Embeds every line of the input with the Batch API (asyncBatchEmbedContent).");
        batchFormats("{\"key\": ..., \"embedding\": {\"values\": [...]}}", "EmbedContentRequest", out);
        break;
      case "benchmark":
        out.println("Usage: " + JAR + " benchmark [--prompts=N] [--promptBytes=B] [--runner=...] [--work=DIR] [options]");
        out.println();
        out.println("Measures this machine's limit (a plain single-threaded loop: encode, upload over loopback HTTP,");
        out.println("download, parse), then runs generate and embed on the same prompts against an emulator that");
        out.println("completes jobs at once, checks every prompt came back, and prints one line per figure.");
        out.println("Options of generate and embed (--maxRequestsPerJob, ...) and Beam options are passed on.");
        break;
      case "webhooks":
        out.println("Usage: " + JAR + " webhooks create --uri=URL [--events=E1,E2] [--name=N] | list | get ID | delete ID");
        out.println("       | ping ID | rotate-secret ID [--revokeNow]   [--apiKey=KEY] [--baseUrl=URL]");
        out.println();
        out.println("The project's registered webhooks: the service POSTs a signed event to each enabled webhook");
        out.println("subscribed to it (batch.succeeded, batch.failed, batch.cancelled, batch.expired) when a batch");
        out.println("ends. create prints the signing secret once; rotate-secret prints a new one (the old one stays");
        out.println("valid for 24 hours unless --revokeNow). Needs an API key; a standalone emulator takes any.");
        out.println("Exit status: 0 done, 1 the service said no or cannot be reached, 2 bad command line.");
        break;
      case "listen":
        out.println("Usage: " + JAR + " listen --port=N --secret=whsec_... [--secret=...] [--events=FILE] [--host=ADDR]");
        out.println();
        out.println("A webhook receiver: prints 'listening on http://HOST:PORT', then answers every POST whose");
        out.println("Standard Webhooks signature matches a secret and whose timestamp is at most 5 minutes old and");
        out.println("not in the future with 204, appending the event (with its webhook_id) as one JSON line to FILE");
        out.println("(default: standard output), once per webhook-id; anything else gets 4xx and is not written.");
        out.println("Runs until stopped. Put it behind HTTPS (a proxy, a tunnel) to receive the real service's events.");
        break;
      default:
        out.println("Usage: " + JAR + " jobs list | get NAME | cancel NAME | delete NAME [options]");
        out.println();
        out.println("The batch jobs of the API key (all of them, not only this tool's): name, display name,");
        out.println("state, request counts (total/succeeded/failed/pending), create and end times. NAME is");
        out.println("batches/ID or ID. Needs an API key; a standalone emulator (--baseUrl) takes any key.");
        out.println("Exit status: 0 done, 1 the service said no or cannot be reached, 2 bad command line.");
    }
    out.println();
    out.println("Options:");
    for (Method getter : getters(options)) {
      String property = Character.toLowerCase(getter.getName().charAt(3)) + getter.getName().substring(4);
      out.println("  --" + property + "=" + getter.getReturnType().getSimpleName().toUpperCase() + defaultOf(getter).map(d -> " (default " + d + ")").orElse(""));
      out.println("      " + getter.getAnnotation(Description.class).value());
    }
    if (name.equals("generate") || name.equals("embed")) {
      out.println();
      out.println("Beam options work too, e.g. --runner=FlinkRunner --flinkMaster=[local], --tempLocation=DIR;");
      out.println("--help=NAME lists those of a Beam options interface (PipelineOptions, FlinkPipelineOptions, ...).");
    }
  }

  private static void batchFormats(String outputLine, String requestType, PrintStream out) {
    out.println();
    out.println("Input: any Beam path (local, gs://, globs, compressed). Each non-blank line is either");
    out.println("  - a request line {\"key\": ..., \"request\": {...}} (a " + requestType + ", camelCase or");
    out.println("    snake_case): the Batch API's own input format, sent as it is; or");
    out.println("  - a plain text, keyed <file name>:line-<n>-<first 8 hex digits of the line's SHA-256>.");
    out.println("--inputFormat=auto (default) takes a line starting with '{' for a request line; text, none;");
    out.println("jsonl, every line. A request line that does not parse or has no \"request\" is a failure");
    out.println("(stage VALIDATE, code 3, with its line number), never sent; one without \"key\" is keyed by line.");
    out.println("Output, with every input key in exactly one of the two:");
    out.println("  PREFIX-responses-SSSSS-of-NNNNN.jsonl  " + outputLine);
    out.println("  PREFIX-failures-SSSSS-of-NNNNN.jsonl   {\"key\", \"stage\", \"code\", \"message\", \"jobName\", \"attempts\"}");
    out.println("Progress (on a terminal one status line; otherwise a line per job state change and a summary");
    out.println("a minute) and a summary with an estimated cost go to stderr.");
    out.println("Stopping: Ctrl-C leaves the batch jobs running; the same command run again collects them");
    out.println("without creating any again (the staging location, derived from --input and --output, keeps");
    out.println("their names until a run completes). 'jobs cancel NAME' stops one instead.");
    out.println("Exit status: 0 when the pipeline finished (failed requests are in the failures file), 1 when");
    out.println("it failed, 2 for a bad command line.");
  }

  /** The command's own options: those of this package's interfaces, outermost first. */
  private static List<Method> getters(Class<?> options) {
    return Arrays.stream(options.getMethods())
        .filter(m -> m.getDeclaringClass().getPackage() == Help.class.getPackage())
        .filter(m -> m.getName().startsWith("get") && m.isAnnotationPresent(Description.class))
        .sorted(Comparator.comparing((Method m) -> depth(m.getDeclaringClass())).thenComparing(Method::getName))
        .toList();
  }

  private static int depth(Class<?> c) {
    return Arrays.stream(c.getInterfaces()).mapToInt(i -> depth(i) + 1).max().orElse(0);
  }

  private static Optional<String> defaultOf(Method getter) {
    if (getter.isAnnotationPresent(Default.Long.class)) {
      return Optional.of(Long.toString(getter.getAnnotation(Default.Long.class).value()));
    }
    if (getter.isAnnotationPresent(Default.Integer.class)) {
      return Optional.of(Integer.toString(getter.getAnnotation(Default.Integer.class).value()));
    }
    if (getter.isAnnotationPresent(Default.String.class)) {
      return Optional.of(getter.getAnnotation(Default.String.class).value());
    }
    if (getter.isAnnotationPresent(Default.Boolean.class)) {
      return Optional.of(Boolean.toString(getter.getAnnotation(Default.Boolean.class).value()));
    }
    return Optional.empty();
  }

  /**
   * {@code --help=NAME}: Beam's own help for a registered options interface, by simple or full
   * name; false when there is none of that name.
   */
  static boolean beamOptions(String name, PrintStream out) {
    Dataflow.registerOptionsIfAsked(new String[] {"--help=" + name});
    OptionsRegistry.registerAll();
    for (Class<? extends PipelineOptions> c : PipelineOptionsFactory.getRegisteredOptions()) {
      if (c.getSimpleName().equals(name) || c.getName().equals(name)) {
        PipelineOptionsFactory.printHelp(out, c);
        return true;
      }
    }
    return false;
  }
}
