package io.geminibatch.pipelines;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.GeminiBatchClient;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Optional;

/**
 * What a stopped run says (Ctrl-C, SIGTERM): the batch jobs are left running on the service, the
 * staging location keeps their names, and the same command run again collects them without
 * creating any again; {@code jobs cancel} stops paying for them instead. A JVM shutdown hook,
 * removed when the run ends by itself; it also releases the run's lock, so that the next run can
 * start at once.
 */
final class StopNotice implements AutoCloseable {
  /** Jobs whose state is looked up for the notice, at most (the rest are counted as recorded). */
  static final int MAX_LOOKUPS = 20;
  /** Names listed with the cancel command, at most. */
  static final int MAX_LISTED = 10;

  private final Thread hook;
  private volatile boolean ended;

  private StopNotice(Runnable onStop) {
    this.hook = new Thread(() -> {
      if (!ended) {
        onStop.run();
      }
    }, "gemini-batch-stop");
  }

  /** Registers the notice for a run on {@code service} staging in {@code staging}. */
  static StopNotice register(
      StagingLocations.Location staging, Service service, RunLock lock, List<String> command, PrintStream err) {
    StopNotice notice = new StopNotice(() -> {
      try {
        err.println(message(staging, service, command));
      } catch (RuntimeException e) {
        err.println("gemini-batch: stopped; the batch jobs keep running; run the same command again to collect them");
      } finally {
        if (lock != null) {
          lock.close();
        }
        err.flush();
      }
    });
    Runtime.getRuntime().addShutdownHook(notice.hook);
    return notice;
  }

  static String message(StagingLocations.Location staging, Service service, List<String> command) {
    if (staging.temporary) {
      return "gemini-batch: stopped; the built-in emulator's jobs end with this process (nothing was billed)";
    }
    List<String> names;
    int[] creating = new int[1];
    try {
      names = StagingLocations.recordedJobs(staging, creating);
    } catch (IOException e) {
      return "gemini-batch: stopped; the batch jobs keep running on the service and the staging location "
          + staging + " keeps their names (" + Errors.describe(e) + "); run the same command again to collect"
          + " them without paying twice";
    }
    int running = 0;
    int finished = 0;
    int looked = 0;
    try (GeminiBatchClient client = service.client()) {
      for (String name : names) {
        if (looked++ >= MAX_LOOKUPS) {
          break;
        }
        Optional<BatchJob> job = client.getBatch(name);
        if (job.isPresent() && job.get().getState().isTerminal()) {
          finished++;
        } else if (job.isPresent()) {
          running++;
        }
      }
    } catch (IOException | RuntimeException e) {
      running = names.size() - finished;
      looked = names.size();
    }
    running += Math.max(0, names.size() - looked);
    StringBuilder m = new StringBuilder("gemini-batch: stopped. ");
    if (names.isEmpty() && creating[0] == 0) {
      return m.append("No batch job of this run is left on the service.").toString();
    }
    m.append(running).append(" batch job").append(running == 1 ? " is" : "s are").append(" still running on the service");
    if (finished > 0) {
      m.append(", ").append(finished).append(" finished (the rerun reads their results again; reading is free)");
    }
    if (creating[0] > 0) {
      m.append(", ").append(creating[0]).append(" being created");
    }
    m.append(" (their names are kept in ").append(staging).append(").\n");
    m.append("gemini-batch: run the same command again to collect them without paying twice:\n  ")
        .append(String.join(" ", command)).append('\n');
    m.append("gemini-batch: or stop paying for them: ").append(Help.JAR).append(" jobs cancel NAME");
    if (!service.baseUrl().equals(io.geminibatch.connector.client.GeminiClientConfig.DEFAULT_BASE_URL)) {
      m.append(" --baseUrl=").append(service.baseUrl());
    }
    m.append(" for each of:");
    for (int i = 0; i < Math.min(MAX_LISTED, names.size()); i++) {
      m.append("\n  ").append(names.get(i));
    }
    if (names.size() > MAX_LISTED) {
      m.append("\n  ... and ").append(names.size() - MAX_LISTED).append(" more (").append(Help.JAR).append(" jobs list)");
    }
    return m.toString();
  }

  /** The run ended by itself: no notice. */
  @Override
  public void close() {
    ended = true;
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down
    }
  }
}
