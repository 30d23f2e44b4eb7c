package io.geminibatch.testing;

import io.geminibatch.testing.gcs.GcsFaults;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiConsumer;

/**
 * The standalone emulator: {@code java -jar gemini-batch-emulator.jar --port 0} prints {@code
 * listening on http://127.0.0.1:PORT} as its first line and serves until killed. {@code --help}
 * lists the flags; a bad flag or value prints one line naming it and exits with status 2.
 */
public final class EmulatorMain {
  /** Exit status for a bad command line. */
  static final int USAGE = 2;

  private EmulatorMain() {}

  /** A bad command line: the message is the one line printed. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /** What the command line asks for. */
  static final class Options {
    final GeminiEmulator.Builder emulator = GeminiEmulator.builder();
    final Faults.Builder faults = Faults.builder();
    final Quota.Builder quota = Quota.builder();
    final List<String> buckets = new ArrayList<>();
    GcsFaults gcsFaults = GcsFaults.none();
    boolean help;
  }

  private static final class Flag {
    final String name;
    final String value; // null for a boolean switch
    final String dflt;
    final String help;
    final BiConsumer<Options, String> apply;

    Flag(String name, String value, String dflt, String help, BiConsumer<Options, String> apply) {
      this.name = name;
      this.value = value;
      this.dflt = dflt;
      this.help = help;
      this.apply = apply;
    }
  }

  private static final List<Flag> FLAGS = new ArrayList<>();

  static {
    flag("--port", "N", "0", "port to listen on; 0 picks a free one",
        (o, v) -> o.emulator.port(integer("--port", v)));
    flag("--host", "ADDR", "127.0.0.1", "address to listen on",
        (o, v) -> o.emulator.host(v));
    flag("--api-key", "KEY", "any non-empty key",
        "accept only this API key (others: 400 API_KEY_INVALID); a missing key is always 403",
        (o, v) -> o.emulator.apiKey(v));
    flag("--data-dir", "DIR", "a temp dir, deleted on exit", "where uploaded and result files go",
        (o, v) -> o.emulator.dataDir(Path.of(v)));
    flag("--job-latency", "DURATION", "PT2S",
        "ISO-8601 time from create to a terminal state (half PENDING, half RUNNING)",
        (o, v) -> o.emulator.jobLatency(duration("--job-latency", v)));
    flag("--job-expiry", "DURATION", "PT48H", "ISO-8601 time after which an unfinished job EXPIRES",
        (o, v) -> o.emulator.jobExpiry(duration("--job-expiry", v)));
    flag("--job-failure-rate", "P", "0", "fraction of jobs that end BATCH_STATE_FAILED (code 13)",
        (o, v) -> o.faults.jobFailureRate(rate("--job-failure-rate", v)));
    flag("--job-expiry-rate", "P", "0",
        "fraction of jobs that end BATCH_STATE_EXPIRED after their latency",
        (o, v) -> o.faults.jobExpiryRate(rate("--job-expiry-rate", v)));
    flag("--request-error-rate", "P", "0",
        "fraction of requests answered with an error (code 13) instead of a response",
        (o, v) -> o.faults.requestErrorRate(rate("--request-error-rate", v)));
    flag("--throttle-rate", "P", "0",
        "fraction of API calls answered 429 RESOURCE_EXHAUSTED (Retry-After: 1)",
        (o, v) -> o.faults.throttleRate(rate("--throttle-rate", v)));
    flag("--unavailable-rate", "P", "0",
        "fraction of API calls answered 503 UNAVAILABLE (Retry-After: 1)",
        (o, v) -> o.faults.unavailableRate(rate("--unavailable-rate", v)));
    flag("--drop-download-rate", "P", "0",
        "fraction of downloads whose connection drops after half of the body",
        (o, v) -> o.faults.dropDownloadRate(rate("--drop-download-rate", v)));
    flag("--stuck-job-rate", "P", "0",
        "fraction of jobs that stay PENDING until cancelled, deleted or expired",
        (o, v) -> o.faults.stuckJobRate(rate("--stuck-job-rate", v)));
    flag("--lost-create-reply-rate", "P", "0",
        "fraction of creates that create the job, then drop the connection before replying",
        (o, v) -> o.faults.lostCreateReplyRate(rate("--lost-create-reply-rate", v)));
    flag("--spurious-quota-refusal-rate", "P", "0",
        "fraction of batch creates refused 429 RESOURCE_EXHAUSTED below every quota limit",
        (o, v) -> o.faults.spuriousQuotaRefusalRate(rate("--spurious-quota-refusal-rate", v)));
    flag("--max-active-jobs", "N", "0 (no limit)",
        "batch jobs one API key may have PENDING or RUNNING; a create over it is refused 429",
        (o, v) -> o.quota.maxActiveJobs(integer("--max-active-jobs", v)));
    flag("--enqueued-token-limit", "T|MODEL=T,...", "0 (no limit)",
        "prompt tokens of one key's PENDING and RUNNING jobs per model; a create over it is refused 429",
        (o, v) -> o.quota.enqueuedTokenLimits(v));
    flag("--reorder-inline", null, "off", "shuffle inline results",
        (o, v) -> o.faults.reorderInline(bool("--reorder-inline", v)));
    flag("--omit-inline-metadata", null, "off", "leave metadata out of inline results",
        (o, v) -> o.faults.omitInlineMetadata(bool("--omit-inline-metadata", v)));
    flag("--bucket", "NAME", null, "create this Cloud Storage bucket at start (repeat for more)",
        (o, v) -> o.buckets.add(v));
    flag("--gcs-unavailable-rate", "P", "0",
        "fraction of Cloud Storage calls answered 503 backendError",
        (o, v) -> o.gcsFaults = o.gcsFaults.withUnavailableRate(rate("--gcs-unavailable-rate", v)));
    flag("--gcs-drop-download-rate", "P", "0",
        "fraction of Cloud Storage media downloads dropped after half of the body",
        (o, v) -> o.gcsFaults = o.gcsFaults.withDropDownloadRate(rate("--gcs-drop-download-rate", v)));
    flag("--webhook-duplicate-rate", "P", "0",
        "fraction of delivered webhook events sent once more under the same webhook-id",
        (o, v) -> o.faults.webhookDuplicateRate(rate("--webhook-duplicate-rate", v)));
    flag("--webhook-delay-rate", "P", "0",
        "fraction of webhook events whose first attempt waits --webhook-fault-delay",
        (o, v) -> o.faults.webhookDelayRate(rate("--webhook-delay-rate", v)));
    flag("--webhook-fault-delay", "DURATION", "PT5S", "how long a delayed webhook event waits",
        (o, v) -> o.emulator.webhookFaultDelay(duration("--webhook-fault-delay", v)));
    flag("--webhook-retry-schedule", "D1,D2,...", "PT5S,PT30S,PT2M,...(about 24 h)",
        "ISO-8601 delays between the attempts of a failing webhook delivery",
        (o, v) -> {
          List<Duration> delays = new ArrayList<>();
          for (String d : v.split(",")) {
            delays.add(duration("--webhook-retry-schedule", d.trim()));
          }
          o.emulator.webhookRetrySchedule(delays);
        });
    flag("--webhook-secret", "whsec_...", "a random one",
        "the secret that signs deliveries to a batch's webhookConfig.uris"
            + " (GET /_emulator/webhooks shows it)",
        (o, v) -> o.emulator.webhookSigningSecret(v));
    flag("--seed", "N", "0", "seed of the fault streams",
        (o, v) -> o.emulator.seed(longValue("--seed", v)));
    flag("--verbose", null, "off", "log method, path and status of each call to stderr",
        (o, v) -> o.emulator.verbose(bool("--verbose", v)));
    flag("--help", null, null, "print this help and exit", (o, v) -> o.help = true);
  }

  private static void flag(
      String name, String value, String dflt, String help, BiConsumer<Options, String> apply) {
    FLAGS.add(new Flag(name, value, dflt, help, apply));
  }

  public static void main(String[] args) {
    Options options;
    try {
      options = parse(args);
    } catch (UsageException e) {
      System.err.println("gemini-emulator: " + e.getMessage());
      System.exit(USAGE);
      return;
    }
    if (options.help) {
      System.out.print(usage());
      System.out.flush();
      return;
    }
    GeminiEmulator emulator;
    try {
      emulator = options.emulator.faults(options.faults.build()).quota(options.quota.build()).start();
      emulator.storage().setFaults(options.gcsFaults);
      for (String bucket : options.buckets) {
        emulator.storage().ensureBucket(bucket);
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("gemini-emulator: could not start: " + e.getMessage());
      System.exit(1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  emulator.close();
                  stopped.countDown();
                },
                "gemini-emulator-shutdown"));
    System.out.println("listening on " + emulator.baseUrl());
    System.out.flush();
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Parses {@code --flag value}, {@code --flag=value} and bare switches. */
  static Options parse(String[] args) throws UsageException {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      Flag flag = find(name);
      if (flag == null) {
        throw new UsageException("unknown flag '" + name + "' (see --help)");
      }
      if (flag.value != null && value == null) {
        if (i + 1 >= args.length) {
          throw new UsageException(flag.name + " needs a value (" + flag.value + ")");
        }
        value = args[++i];
      }
      try {
        flag.apply.accept(o, value);
      } catch (IllegalArgumentException e) {
        String m = e.getMessage();
        throw new UsageException(
            m.startsWith(flag.name)
                ? m
                : flag.name + ": invalid value '" + value + "' (" + m + ")");
      }
    }
    return o;
  }

  private static Flag find(String name) {
    for (Flag f : FLAGS) {
      if (f.name.equals(name)) {
        return f;
      }
    }
    return null;
  }

  static String usage() {
    StringBuilder sb = new StringBuilder();
    sb.append("Usage: java -jar gemini-batch-emulator.jar [flags]\n")
        .append("Gemini Batch API + Files API emulator (/v1beta and /v1), with Cloud Storage's JSON API\n")
        .append("(/storage/v1, /upload/storage/v1, /download/storage/v1, /batch/storage/v1) and Secret\n")
        .append("Manager's versions.access (/v1/projects/P/secrets/S/versions/V:access). Prints\n")
        .append("'listening on http://HOST:PORT' as its first line and serves until killed.\n\n")
        .append("Flags (--flag VALUE or --flag=VALUE; switches take an optional =true|false):\n");
    for (Flag f : FLAGS) {
      String left = "  " + f.name + (f.value == null ? "" : " " + f.value);
      sb.append(String.format(Locale.ROOT, "%-34s %s", left, f.help));
      if (f.dflt != null) {
        sb.append(" (default: ").append(f.dflt).append(')');
      }
      sb.append('\n');
    }
    sb.append("\nRates are probabilities in [0, 1]. Endpoints for tests: GET /_emulator/stats,\n")
        .append("POST /_emulator/reset-stats, GET|POST /_emulator/faults (JSON with the fault fields),\n")
        .append("POST /_emulator/job-latency ({\"jobLatency\": \"PT1S\"}), GET /_emulator/gcs/stats,\n")
        .append("GET|POST /_emulator/gcs/faults ({\"unavailableRate\": P, \"dropDownloadRate\": P}).\n");
    return sb.toString();
  }

  private static IllegalArgumentException bad(String flag, String value, String expected) {
    return new IllegalArgumentException(flag + ": invalid value '" + value + "' (" + expected + ")");
  }

  private static int integer(String flag, String v) {
    try {
      int n = Integer.parseInt(v.trim());
      if (n < 0 || n > 65535) {
        throw bad(flag, v, "expected a port in [0, 65535]");
      }
      return n;
    } catch (NumberFormatException e) {
      throw bad(flag, v, "expected a port in [0, 65535]");
    }
  }

  private static long longValue(String flag, String v) {
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw bad(flag, v, "expected an integer");
    }
  }

  private static double rate(String flag, String v) {
    try {
      double d = Double.parseDouble(v.trim());
      if (d >= 0 && d <= 1) {
        return d;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw bad(flag, v, "expected a probability in [0, 1]");
  }

  private static Duration duration(String flag, String v) {
    try {
      Duration d = Duration.parse(v.trim());
      if (!d.isNegative()) {
        return d;
      }
    } catch (DateTimeParseException e) {
      // fall through
    }
    throw bad(flag, v, "expected an ISO-8601 duration such as PT2S, PT0.5S or PT1H");
  }

  private static boolean bool(String flag, String v) {
    if (v == null || v.equalsIgnoreCase("true")) {
      return true;
    }
    if (v.equalsIgnoreCase("false")) {
      return false;
    }
    throw bad(flag, v, "expected true or false");
  }
}
