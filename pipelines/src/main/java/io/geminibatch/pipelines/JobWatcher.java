package io.geminibatch.pipelines;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.BatchPage;
import io.geminibatch.connector.client.GeminiBatchClient;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Progress while a pipeline runs: polls {@code batches.list} on its own thread and prints one line
 * per state change of the connector's jobs (display name {@code gbio-...}) that were not finished
 * when the run began. Works the same on every runner, since it asks the service, not the runner.
 * Looks at the newest {@value #MAX_PAGES} pages of {@value #PAGE_SIZE} jobs (the list is newest
 * first).
 */
final class JobWatcher implements AutoCloseable {
  private static final String CONNECTOR_PREFIX = "gbio-";
  static final int PAGE_SIZE = 100;
  static final int MAX_PAGES = 5;

  private final GeminiBatchClient client;
  private final PrintStream err;
  private final long startNanos = System.nanoTime();
  private final ScheduledExecutorService timer;
  /** Jobs already finished when the run began: not ours to report. */
  private final Set<String> finishedBefore = new HashSet<>();
  /** Jobs reported, with the last line printed for each. */
  private final Map<String, BatchJob> reported = new LinkedHashMap<>();
  private boolean warned;
  /** More to report beside the jobs (e.g. shards waiting for quota): a line when it changes. */
  private final java.util.function.Supplier<String> extra;
  private String lastExtra;

  private JobWatcher(GeminiBatchClient client, PrintStream err, java.util.function.Supplier<String> extra) {
    this.client = client;
    this.err = err;
    this.extra = extra;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gemini-batch-progress");
              t.setDaemon(true);
              return t;
            });
  }

  /** Notes the jobs finished so far, then polls every {@code interval}. */
  static JobWatcher start(GeminiBatchClient client, PrintStream err, Duration interval) {
    return start(client, err, interval, () -> null);
  }

  /** The same, also printing {@code extra}'s line (when not null) each time it changes. */
  static JobWatcher start(
      GeminiBatchClient client, PrintStream err, Duration interval, java.util.function.Supplier<String> extra) {
    JobWatcher w = new JobWatcher(client, err, extra);
    List<BatchJob> before = w.listOrWarn();
    for (BatchJob job : before == null ? List.<BatchJob>of() : before) {
      if (job.getState().isTerminal()) {
        w.finishedBefore.add(job.getName());
      }
    }
    long millis = interval.toMillis();
    w.timer.scheduleWithFixedDelay(w::poll, millis, millis, TimeUnit.MILLISECONDS);
    return w;
  }

  /** The connector's jobs among the newest; null (after saying so, once) when the list fails. */
  private List<BatchJob> listOrWarn() {
    List<BatchJob> jobs = new ArrayList<>();
    try {
      String token = null;
      for (int page = 0; page < MAX_PAGES; page++) {
        BatchPage p = client.listBatches(PAGE_SIZE, token);
        for (BatchJob job : p.getJobs()) {
          if (job.getDisplayName() != null && job.getDisplayName().startsWith(CONNECTOR_PREFIX)) {
            jobs.add(job);
          }
        }
        token = p.getNextPageToken();
        if (token == null) {
          break;
        }
      }
      return jobs;
    } catch (IOException e) {
      if (!warned) {
        warned = true;
        print("no progress for now: cannot list batch jobs: " + Errors.describe(e));
      }
      return null;
    }
  }

  synchronized void poll() {
    String line = extra.get();
    if (line != null && !line.equals(lastExtra)) {
      print(line);
    }
    lastExtra = line;
    List<BatchJob> jobs = listOrWarn();
    if (jobs == null) {
      return;
    }
    Set<String> present = new HashSet<>();
    for (BatchJob job : jobs) {
      if (finishedBefore.contains(job.getName())) {
        continue;
      }
      present.add(job.getName());
      BatchJob before = reported.put(job.getName(), job);
      if (before == null || !status(before).equals(status(job))) {
        print(job.getName() + " " + job.getDisplayName() + " " + status(job));
      }
    }
    // The connector deletes a job once its results are read: report that once.
    for (Iterator<BatchJob> it = reported.values().iterator(); it.hasNext(); ) {
      BatchJob job = it.next();
      if (!present.contains(job.getName())) {
        print(job.getName() + " " + job.getDisplayName() + " results read, job deleted");
        it.remove();
        finishedBefore.add(job.getName());
      }
    }
  }

  private static String status(BatchJob job) {
    long done = job.getSuccessfulRequestCount() + job.getFailedRequestCount();
    return job.getState().name() + " " + done + "/" + job.getRequestCount() + " requests done"
        + (job.getFailedRequestCount() > 0 ? " (" + job.getFailedRequestCount() + " failed)" : "");
  }

  private void print(String line) {
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    err.println(String.format(Locale.ROOT, "gemini-batch: [%6.1fs] %s", seconds, line));
  }

  /** Stops polling after one last look, so the final states are printed. */
  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    poll();
  }
}
