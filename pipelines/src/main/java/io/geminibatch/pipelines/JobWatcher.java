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
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Progress while a pipeline runs: polls {@code batches.list} on its own thread and follows the
 * connector's jobs (display name {@code gbio-...}) that were not finished when the run began.
 * Works the same on every runner, since it asks the service, not the runner. Looks at the newest
 * {@value #MAX_PAGES} pages of {@value #PAGE_SIZE} jobs (the list is newest first).
 *
 * <p>On a terminal it keeps one status line, rewritten in place after every poll: the jobs by
 * state, the requests done of those in the jobs so far, the failures, the time elapsed and an
 * estimate of what is left. Otherwise (a file, a pipe, a CI log) it prints a line when a job
 * changes state (not when its counts move) and a summary line every {@value #SUMMARY_SECONDS}
 * s: a million prompts make a line per job state, not a line per job per poll.
 */
final class JobWatcher implements AutoCloseable {
  private static final String CONNECTOR_PREFIX = "gbio-";
  static final int PAGE_SIZE = 100;
  static final int MAX_PAGES = 5;
  static final long SUMMARY_SECONDS = 60;

  /** Makes the client the watcher lists with, on its thread; null once it made it. */
  private Supplier<GeminiBatchClient> clients;
  /** Whether {@link #close} closes the client (the watcher made it). */
  private final boolean ownsClient;
  private GeminiBatchClient client;
  private final PrintStream err;
  private final boolean terminal;
  private final long summaryNanos;
  private final long startNanos = System.nanoTime();
  private final ScheduledExecutorService timer;
  /** Jobs already finished when the run began: not ours to report. */
  private final Set<String> finishedBefore = new HashSet<>();
  /** Whether {@link #finishedBefore} was listed (or tried): the first poll does it if not. */
  private boolean noted;
  /** Jobs followed, as last seen. */
  private final Map<String, BatchJob> reported = new LinkedHashMap<>();
  /** Jobs whose results were read (and which were deleted), and their requests. */
  private long collectedJobs;
  private long collectedDone;
  private long collectedTotal;
  private long collectedFailed;
  /** When the first job was seen, for the estimate. */
  private long firstJobNanos = -1;
  private long lastSummaryNanos = System.nanoTime();
  private int statusWidth;
  private boolean warned;
  /** Set by close(): a poll its shutdown interrupts is not a failure to report. */
  private volatile boolean closing;
  /** More to report beside the jobs (e.g. shards waiting for quota): a line when it changes. */
  private final Supplier<String> extra;
  private String lastExtra;

  private JobWatcher(
      Supplier<GeminiBatchClient> clients,
      boolean ownsClient,
      PrintStream err,
      boolean terminal,
      Duration summaryEvery,
      Supplier<String> extra) {
    this.extra = extra;
    this.clients = clients;
    this.ownsClient = ownsClient;
    this.err = err;
    this.terminal = terminal;
    this.summaryNanos = summaryEvery.toNanos();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gemini-batch-progress");
              t.setDaemon(true);
              return t;
            });
  }

  /** Whether {@code err} is the process's stderr on a terminal. */
  static boolean isTerminal(PrintStream err) {
    return err == System.err && System.console() != null;
  }

  /**
   * Notes the jobs finished so far, then polls every {@code interval}, on its thread, with a
   * client {@code clients} makes there (the first HTTP client of the process, TLS included: 0.4 s
   * of the main thread's start) and that {@link #close} closes; also prints {@code extra}'s line
   * (when not null) each time it changes.
   */
  static JobWatcher startWithOwnClient(
      Supplier<GeminiBatchClient> clients, PrintStream err, Duration interval, Supplier<String> extra) {
    return start(clients, true, err, interval, isTerminal(err), Duration.ofSeconds(SUMMARY_SECONDS), extra);
  }

  /**
   * The same with {@code client} (left open), on a terminal or not, with a summary line every
   * {@code summaryEvery} when not.
   */
  static JobWatcher start(
      GeminiBatchClient client, PrintStream err, Duration interval, boolean terminal, Duration summaryEvery) {
    return start(() -> client, false, err, interval, terminal, summaryEvery, () -> null);
  }

  private static JobWatcher start(
      Supplier<GeminiBatchClient> clients,
      boolean ownsClient,
      PrintStream err,
      Duration interval,
      boolean terminal,
      Duration summaryEvery,
      Supplier<String> extra) {
    JobWatcher w = new JobWatcher(clients, ownsClient, err, terminal, summaryEvery, extra);
    // The first task of the watcher's one thread, so before any poll: the caller goes on to start
    // the run meanwhile (a list is a round trip to the service, 0.4 s of the main thread's start
    // on the emulator), and the run's first job is created seconds after this list was asked for.
    w.timer.execute(w::noteFinishedBefore);
    long millis = interval.toMillis();
    w.timer.scheduleWithFixedDelay(w::poll, millis, millis, TimeUnit.MILLISECONDS);
    return w;
  }

  /**
   * Notes the jobs already finished: not this run's. It runs on the watcher's thread, so a job
   * created and finished between {@link #start} and this list would count among them (no progress
   * lines for it, nothing else): a run creates its first job seconds after the watch starts.
   */
  private synchronized void noteFinishedBefore() {
    if (noted) {
      return;
    }
    List<BatchJob> before = listOrWarn();
    if (before == null && closing) {
      return; // cut short by close(): its last poll lists again
    }
    noted = true;
    for (BatchJob job : before == null ? List.<BatchJob>of() : before) {
      if (job.getState().isTerminal()) {
        finishedBefore.add(job.getName());
      }
    }
  }

  /** The client, made on first use (under the watcher's lock). */
  private GeminiBatchClient client() {
    if (client == null) {
      client = clients.get();
      clients = null;
    }
    return client;
  }

  /** The connector's jobs among the newest; null (after saying so, once) when the list fails. */
  private List<BatchJob> listOrWarn() {
    List<BatchJob> jobs = new ArrayList<>();
    try {
      String token = null;
      for (int page = 0; page < MAX_PAGES; page++) {
        BatchPage p = client().listBatches(PAGE_SIZE, token);
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
      if (!warned && !closing) {
        warned = true;
        line("no progress for now: cannot list batch jobs: " + Errors.describe(e));
      }
      return null;
    }
  }

  synchronized void poll() {
    noteFinishedBefore();
    String more = extra.get();
    if (more != null && !more.equals(lastExtra)) {
      line(more);
    }
    lastExtra = more;
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
      if (firstJobNanos < 0) {
        firstJobNanos = System.nanoTime();
      }
      BatchJob before = reported.put(job.getName(), job);
      if (!terminal && (before == null || before.getState() != job.getState())) {
        line(job.getName() + " " + job.getDisplayName() + " " + status(job));
      }
    }
    // The connector deletes a job once its results are read: report that once.
    for (Iterator<BatchJob> it = reported.values().iterator(); it.hasNext(); ) {
      BatchJob job = it.next();
      if (!present.contains(job.getName())) {
        if (!terminal) {
          line(job.getName() + " " + job.getDisplayName() + " results read, job deleted");
        }
        collectedJobs++;
        collectedDone += job.getSuccessfulRequestCount() + job.getFailedRequestCount();
        collectedTotal += job.getRequestCount();
        collectedFailed += job.getFailedRequestCount();
        it.remove();
        finishedBefore.add(job.getName());
      }
    }
    if (terminal) {
      String status = "gemini-batch: " + summary();
      int pad = Math.max(0, statusWidth - status.length());
      statusWidth = status.length();
      err.print("\r" + status + " ".repeat(pad));
      err.flush();
    } else if (System.nanoTime() - lastSummaryNanos >= summaryNanos
        && collectedJobs + reported.size() > 0) {
      lastSummaryNanos = System.nanoTime();
      line(summary());
    }
  }

  /**
   * {@code jobs: 2 RUNNING, 1 SUCCEEDED, 4 collected; requests: 520/3000 done, 3 failed; 1m05s
   * elapsed, about 2m10s left}.
   */
  String summary() {
    Map<String, Integer> byState = new TreeMap<>();
    long done = collectedDone;
    long total = collectedTotal;
    long failed = collectedFailed;
    for (BatchJob job : reported.values()) {
      byState.merge(job.getState().name(), 1, Integer::sum);
      done += job.getSuccessfulRequestCount() + job.getFailedRequestCount();
      total += job.getRequestCount();
      failed += job.getFailedRequestCount();
    }
    StringBuilder sb = new StringBuilder("jobs: ");
    byState.forEach((state, n) -> sb.append(n).append(' ').append(state).append(", "));
    sb.append(collectedJobs).append(" collected; requests: ").append(done).append('/').append(total)
        .append(" done, ").append(failed).append(" failed; ")
        .append(duration(System.nanoTime() - startNanos)).append(" elapsed");
    if (done > 0 && done < total && firstJobNanos >= 0) {
      double perRequest = (double) (System.nanoTime() - firstJobNanos) / done;
      sb.append(", about ").append(duration((long) (perRequest * (total - done)))).append(" left");
    }
    return sb.toString();
  }

  static String duration(long nanos) {
    long s = TimeUnit.NANOSECONDS.toSeconds(nanos);
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
  }

  private static String status(BatchJob job) {
    long done = job.getSuccessfulRequestCount() + job.getFailedRequestCount();
    return job.getState().name() + " " + done + "/" + job.getRequestCount() + " requests done"
        + (job.getFailedRequestCount() > 0 ? " (" + job.getFailedRequestCount() + " failed)" : "");
  }

  /** A line of its own (on a terminal, under the status line, which the next poll redraws). */
  private void line(String text) {
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    String line = String.format(Locale.ROOT, "gemini-batch: [%6.1fs] %s", seconds, text);
    if (terminal && statusWidth > 0) {
      err.print("\r" + " ".repeat(statusWidth) + "\r");
      statusWidth = 0;
    }
    err.println(line);
  }

  /** Stops polling after one last look, so the final states are printed. */
  @Override
  public void close() {
    closing = true;
    timer.shutdownNow();
    try {
      timer.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    poll();
    synchronized (this) {
      if (terminal) {
        err.println(); // the status line stays, as the last word on the jobs
      } else if (collectedJobs + reported.size() > 0) {
        line(summary());
      }
      if (ownsClient && client != null) {
        client.close();
      }
    }
  }
}
