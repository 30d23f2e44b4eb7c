package io.geminibatch.connector;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.CreateOutcomeUnknownException;
import io.geminibatch.connector.client.GeminiApiException;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One try at a shard attempt's job, however often it is called for the same attempt: the ledger
 * is consulted first; an attempt that may already have created its job looks it up by display
 * name; a create is never blindly retried. Input over the inline threshold is uploaded (to a file
 * id derived from the shard, reused when already there), smaller shards go inline. It claims
 * nothing: the caller, a splittable DoFn ({@link SubmitFn} for a shard's first job, {@link
 * AwaitJobFn} for its retries), records a {@link Outcome#WAIT} in its restriction and resumes
 * later, and claims the end before it emits a job or failures.
 */
final class JobSubmitter<OutT> {
  private static final Logger LOG = LoggerFactory.getLogger(JobSubmitter.class);
  /** Tries of a create that failed transiently (5xx, 408, no reply) before the bundle fails. */
  static final int CREATE_TRIES = 8;

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final StageMetrics metrics;
  private final GeminiBatchClient client;
  private final JobLedger ledger;
  private final SubmitPacer pacer;

  JobSubmitter(BatchSettings settings, KindSupport<OutT> kind, StageMetrics metrics, GeminiBatchClient client) {
    this.settings = settings;
    this.kind = kind;
    this.metrics = metrics;
    this.client = client;
    this.ledger = new JobLedger(settings);
    this.pacer = SubmitPacer.of(settings);
  }

  JobLedger ledger() {
    return ledger;
  }

  /** What one try came to. */
  static final class Outcome {
    enum Type {
      /** The job exists: created now, or found in the ledger or by its display name. */
      JOB,
      /** Nothing was created: try again after {@link #delay}. */
      WAIT,
      /** The service refused the shard's job for good: its requests fail with this status. */
      REFUSED
    }

    final Type type;
    final String jobName;
    final String inputFile;
    final boolean created;
    final String why;
    final Duration delay;
    final boolean transientFailure;
    final int code;

    private Outcome(
        Type type, String jobName, String inputFile, boolean created, String why, Duration delay, boolean transientFailure, int code) {
      this.type = type;
      this.jobName = jobName;
      this.inputFile = inputFile;
      this.created = created;
      this.why = why;
      this.delay = delay;
      this.transientFailure = transientFailure;
      this.code = code;
    }

    static Outcome job(String jobName, String inputFile, boolean created) {
      return new Outcome(Type.JOB, jobName, inputFile, created, null, null, false, 0);
    }

    static Outcome waitFor(String why, Duration delay, boolean transientFailure) {
      return new Outcome(Type.WAIT, null, null, false, why, delay, transientFailure, 0);
    }

    static Outcome refused(int code, String message) {
      return new Outcome(Type.REFUSED, null, null, false, message, null, false, code);
    }
  }

  /** How long and how often a shard attempt has waited, as its last wait position records it. */
  static final class Wait {
    /** Seconds counted from the epoch second the caller gives (in 2^20 s, 12 days). */
    private static final long SECONDS = (1L << 20) - 1;

    final long sinceSecond;
    final int transients;
    final long waits;

    Wait(long sinceSecond, int transients, long waits) {
      this.sinceSecond = sinceSecond;
      this.transients = transients;
      this.waits = waits;
    }

    static Wait first() {
      return new Wait(System.currentTimeMillis() / 1000, 0, 0);
    }

    /** A position of {@link #encode}; {@code epochSecond} 0 for absolute seconds. */
    static Wait decode(long position, long epochSecond) {
      return new Wait(epochSecond + (position >>> 26), (int) ((position >>> 20) & 63), position & ((1 << 20) - 1));
    }

    /**
     * {@code (since << 26) | (transient failures << 20) | waits}: with {@code epochSecond} 0
     * absolute seconds (under 2^63 for ever), else seconds after it, at most 2^20 (the whole
     * position then stays under 2^46).
     */
    long encode(long epochSecond) {
      long since = sinceSecond - epochSecond;
      if (epochSecond != 0) {
        since = Math.max(0, Math.min(SECONDS, since));
      }
      return (since << 26) | ((long) Math.min(transients, 63) << 20) | Math.min(waits, (1 << 20) - 1);
    }

    Wait next(boolean transientFailure) {
      return new Wait(sinceSecond, transients + (transientFailure ? 1 : 0), waits + 1);
    }

    long waitedMillis() {
      return Math.max(0, System.currentTimeMillis() - sinceSecond * 1000);
    }
  }

  /**
   * One try at the attempt's job: the ledger's, the one an earlier try created, or a new one.
   * {@code wait} is what the attempt has waited so far (null before its first wait).
   */
  Outcome submit(ShardRef shard, Wait wait) throws IOException {
    String displayName = settings.displayName(shard);
    RecordedJob entry = ledger.find(shard);
    if (entry != null) {
      if (pacer != null) {
        pacer.reattached(shard, entry.jobName());
      }
      return Outcome.job(entry.jobName(), entry.inputFileName(), false);
    }
    if (ledger.hasIntent(shard)) {
      // An earlier try got as far as the create: the job may exist.
      Optional<BatchJob> existing = client.findBatchByDisplayName(displayName);
      if (existing.isPresent()) {
        String input = existing.get().getInputFileName();
        ledger.record(shard, existing.get().getName(), input);
        if (pacer != null) {
          pacer.reattached(shard, existing.get().getName());
        }
        return Outcome.job(existing.get().getName(), input, false);
      }
    }
    boolean overdue = wait != null && wait.waitedMillis() >= settings.queue.maxQueueWait.getMillis();
    if (pacer != null && !overdue) {
      String why = pacer.tryAcquire(shard);
      if (why != null && refreshPacer()) {
        why = pacer.tryAcquire(shard);
      }
      if (why != null) {
        return Outcome.waitFor(why, settings.pollInterval, false);
      }
    }
    StageClock upload = new StageClock();
    String inputFile;
    byte[] inlineRequests;
    try {
      inputFile = shard.inline ? null : ensureUploaded(shard, displayName);
      inlineRequests = shard.inline ? inlineRequests(shard) : null;
    } catch (IOException | RuntimeException e) {
      if (pacer != null) {
        pacer.released(shard);
      }
      throw e;
    }
    metrics.uploadMillis.inc(upload.millis());
    ledger.recordIntent(shard);
    BatchJob job;
    try {
      job = create(displayName, inputFile, inlineRequests);
    } catch (GeminiApiException e) {
      if (pacer != null) {
        pacer.released(shard);
      }
      if (isConfigurationError(e)) {
        // Every shard would fail the same way: the bundle fails with the service's message.
        throw new IOException(
            "Gemini refused to create batch " + displayName + " for model " + settings.model
                + ": " + e.getMessage(), e);
      }
      if (e.getHttpStatus() == 429) {
        return quotaRefused(shard, wait, displayName, e);
      }
      if (e.isRetryable()) {
        // A 5xx or 408: the intent stays, so the next try looks the job up first.
        return transientFailure(wait, displayName, e);
      }
      // The service refused this shard's job for good (e.g. a request it will not accept).
      LOG.warn("Job {} was refused: {}", displayName, e.getMessage());
      return Outcome.refused(Codes.of(e), e.getServiceMessage());
    } catch (CreateOutcomeUnknownException e) {
      // No usable reply: the job may exist. Only a look-up can tell.
      Optional<BatchJob> found = client.findBatchByDisplayName(displayName);
      if (found.isEmpty()) {
        if (pacer != null) {
          pacer.released(shard);
        }
        return transientFailure(wait, displayName, e);
      }
      job = found.get();
      inputFile = job.getInputFileName();
    }
    ledger.record(shard, job.getName(), inputFile);
    if (pacer != null) {
      pacer.submitted(shard, job.getName());
    }
    // Counted here, not where the caller claims the job: a try whose claim fails (the runner
    // took the rest of the restriction meanwhile) still created it, and the rest reattaches.
    metrics.jobsSubmitted.inc();
    if (shard.attempt > 1) {
      metrics.jobsResubmitted.inc();
    }
    LOG.info("Submitted {} ({} requests, {}) as {}", displayName, shard.requestCount,
        shard.inline ? "inline" : inputFile, job.getName());
    return Outcome.job(job.getName(), inputFile, true);
  }

  /** Before the caller resumes later: counts the wait and notes it in the ledger. */
  void waiting(ShardRef shard, Wait previous, String why, Duration delay) throws IOException {
    if (previous == null) {
      metrics.shardsWaiting.inc();
    }
    metrics.waits.inc();
    ledger.recordWaiting(shard, why);
    LOG.debug("{} waits {} ms: {}", settings.displayName(shard), delay.getMillis(), why);
  }

  /** Once the caller claimed the attempt's end after waiting. */
  void doneWaiting(ShardRef shard, Wait wait) throws IOException {
    if (wait != null) {
      metrics.shardsWaiting.dec();
      ledger.clearWaiting(shard);
    }
  }

  /** Looks at the paced jobs (at most once per poll interval); true when one of them ended. */
  private boolean refreshPacer() throws IOException {
    boolean freed = false;
    for (String name : pacer.jobsToCheck(settings.pollInterval.getMillis())) {
      Optional<BatchJob> b = client.getBatch(name);
      if (b.isEmpty() || b.get().getState().isTerminal()) {
        pacer.finished(name);
        freed = true;
      }
    }
    return freed;
  }

  /**
   * A create refused for quota created nothing: the shard waits and tries again, until it has
   * waited {@code maxQueueWait}; then its requests fail with the service's message.
   */
  private Outcome quotaRefused(ShardRef shard, Wait wait, String displayName, GeminiApiException e) throws IOException {
    metrics.quotaRefusals.inc();
    // Nothing was created, and a look-up before this create (hadIntent) found nothing either:
    // the next try need not list the jobs again.
    ledger.forget(shard);
    long waited = wait == null ? 0 : wait.waitedMillis();
    if (waited >= settings.queue.maxQueueWait.getMillis()) {
      LOG.warn("Job {} was refused for quota for {} s, longer than withMaxQueueWait ({}): its requests fail: {}",
          displayName, waited / 1000, settings.queue.maxQueueWait, e.getServiceMessage());
      return Outcome.refused(
          Codes.of(e),
          "no quota for the job within withMaxQueueWait (" + settings.queue.maxQueueWait + "): " + e.getServiceMessage());
    }
    long waits = wait == null ? 1 : wait.waits + 1;
    long cap = quotaDelayCap(settings);
    long delay = Math.min(cap, settings.client.getInitialBackoff().toMillis() << Math.min(waits - 1, 30));
    // Jittered in [delay/2, delay], never under the service's Retry-After.
    delay = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
    if (e.getRetryAfter() != null) {
      delay = Math.max(delay, e.getRetryAfter().toMillis());
    }
    return Outcome.waitFor(
        "refused by the service: HTTP 429 " + e.getStatus() + ": " + firstLine(e.getServiceMessage()), Duration.millis(delay), false);
  }

  /**
   * The longest wait between two creates of a shard refused for quota: the retry backoff's
   * maximum (60 s) or the poll interval, whichever is longer. Quota frees when a job ends, which
   * the await step sees about as often.
   */
  static long quotaDelayCap(BatchSettings settings) {
    return Math.max(settings.client.getMaxBackoff().toMillis(), settings.pollInterval.getMillis());
  }

  /** A create failed without an answer, or with a 5xx/408: tried again after a backoff, a few times. */
  private Outcome transientFailure(Wait wait, String displayName, IOException e) throws IOException {
    int tries = (wait == null ? 0 : wait.transients) + 1;
    if (tries >= CREATE_TRIES) {
      throw new IOException("Could not create batch " + displayName + " after " + tries + " tries", e);
    }
    long cap = Math.min(
        settings.client.getMaxBackoff().toMillis(),
        settings.client.getInitialBackoff().toMillis() << Math.min(tries - 1, 20));
    long delay = ThreadLocalRandom.current().nextLong(cap + 1);
    if (e instanceof GeminiApiException && ((GeminiApiException) e).getRetryAfter() != null) {
      delay = Math.max(delay, ((GeminiApiException) e).getRetryAfter().toMillis());
    }
    return Outcome.waitFor("create failed, trying again: " + firstLine(e.getMessage()), Duration.millis(delay), true);
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return s == null ? "" : nl < 0 ? s.trim() : s.substring(0, nl).trim();
  }

  /** Tries the create once: a create is never blindly retried (see {@link GeminiBatchClient}). */
  private BatchJob create(String displayName, String inputFile, byte[] inline) throws IOException {
    return inline != null
        ? client.createInlineBatch(kind.kind(), settings.model, displayName, inline)
        : client.createFileBatch(kind.kind(), settings.model, displayName, inputFile);
  }

  private static boolean isConfigurationError(GeminiApiException e) {
    int s = e.getHttpStatus();
    return s == 401
        || s == 403
        || (s == 404 && (e.getServiceMessage().contains("models/") || e.getServiceMessage().contains("PublisherModel")))
        || (s == 400 && e.getServiceMessage().toLowerCase().contains("api key"));
  }

  /** Uploads the staged shard unless a file with its id and size is already there. */
  private String ensureUploaded(ShardRef shard, String displayName) throws IOException {
    String fileId = settings.fileId(shard);
    String name = "files/" + fileId;
    Optional<GeminiFile> existing;
    try {
      existing = client.getFile(name);
    } catch (GeminiApiException e) {
      // The live service answers 403 PERMISSION_DENIED for a file that does not exist ("...
      // or it may not exist"); a real permission problem will show in the upload.
      if (e.getHttpStatus() != 403) {
        throw e;
      }
      existing = Optional.empty();
    }
    if (existing.isPresent()) {
      if (existing.get().getSizeBytes() == shard.byteSize && !"FAILED".equals(existing.get().getState())) {
        return name;
      }
      client.deleteFile(name);
    }
    try {
      GeminiFile file =
          client.uploadFile(fileId, displayName, "jsonl", shard.byteSize, () -> Staging.open(shard.stagedPath));
      return file.getName();
    } catch (GeminiApiException e) {
      if (e.getHttpStatus() == 409) {
        // Another try of this bundle uploaded it meanwhile.
        return name;
      }
      throw e;
    }
  }

  /** The {@code requests} array of an inline job, built from the staged shard. */
  static byte[] inlineRequests(ShardRef shard) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream((int) Math.min(shard.byteSize + 1024, 1 << 26));
    body.write('[');
    try (ShardLines lines = new ShardLines(shard.stagedPath)) {
      boolean first = true;
      while (lines.next()) {
        if (!first) {
          body.write(',');
        }
        first = false;
        body.write("{\"request\":".getBytes(StandardCharsets.UTF_8));
        body.write(lines.buffer(), lines.requestStart(), lines.requestEnd() - lines.requestStart());
        body.write(",\"metadata\":{\"key\":".getBytes(StandardCharsets.UTF_8));
        body.write(Json.quoteUtf8(lines.key()));
        body.write("}}".getBytes(StandardCharsets.UTF_8));
      }
    }
    body.write(']');
    return body.toByteArray();
  }
}
