package io.geminibatch.connector;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.CreateOutcomeUnknownException;
import io.geminibatch.connector.client.GeminiApiException;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiBatchClients;
import io.geminibatch.connector.client.GeminiFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.values.TupleTag;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 4, submit: one job per shard attempt, however often the bundle is retried. The ledger is
 * consulted first; an attempt that may already have created its job looks it up by display name;
 * a create is never blindly retried. Input over the inline threshold is uploaded (to a file id
 * derived from the shard, reused when already there), smaller shards go inline.
 *
 * <p>A splittable DoFn, so that waiting holds no worker: a create refused for quota (429
 * RESOURCE_EXHAUSTED, which creates nothing), a transient failure of the create, or the
 * transform's own pacing ({@link SubmitPacer}) make it claim a wait position and resume later
 * through the runner, as {@link AwaitJobFn} does while a job runs. A refused create is tried
 * again after a delay that doubles from the retry backoff's first value up to its maximum (or the
 * poll interval, if longer), for as long as {@code withMaxQueueWait} allows; then the shard's requests become
 * failures with the service's message. The positions claimed:
 *
 * <ul>
 *   <li>a wait: {@code (t0 << 26) | (transient failures << 20) | waits}, {@code t0} the second
 *       the shard first waited; the restriction left after it starts one past, which is where the
 *       next try reads how long and how often the shard has waited;
 *   <li>{@link #DONE}: the shard's job was created or found, or its requests failed.
 * </ul>
 */
@DoFn.BoundedPerElement
final class SubmitFn<OutT> extends DoFn<ShardRef, SubmittedJob> {
  private static final Logger LOG = LoggerFactory.getLogger(SubmitFn.class);
  static final TupleTag<SubmittedJob> SUBMITTED = new TupleTag<SubmittedJob>() {};
  /** Tries of a create that failed transiently (5xx, 408, no reply) before the bundle fails. */
  static final int CREATE_TRIES = 8;
  static final long DONE = Long.MAX_VALUE - 1;

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();
  private transient GeminiBatchClient client;
  private transient JobLedger ledger;
  private transient SubmitPacer pacer;

  SubmitFn(BatchSettings settings, KindSupport<OutT> kind, TupleTag<GenerateFailure> failures) {
    this.settings = settings;
    this.kind = kind;
    this.failures = failures;
  }

  @Setup
  public void setup() {
    client = GeminiBatchClients.forConfig(settings.client);
    ledger = new JobLedger(settings);
    pacer = SubmitPacer.of(settings);
  }

  @GetInitialRestriction
  public OffsetRange initialRestriction(@Element ShardRef shard) {
    return new OffsetRange(0, Long.MAX_VALUE);
  }

  @NewTracker
  public RestrictionTracker<OffsetRange, Long> newTracker(@Restriction OffsetRange range) {
    return new AwaitJobFn.CheckpointOnlyTracker(range);
  }

  @GetSize
  public double getSize(@Restriction OffsetRange range) {
    return range.getFrom() >= DONE ? 0 : 1;
  }

  /** How long and how often a shard has waited, as its last wait position records it. */
  static final class Wait {
    final long sinceSecond;
    final int transients;
    final long waits;

    Wait(long sinceSecond, int transients, long waits) {
      this.sinceSecond = sinceSecond;
      this.transients = transients;
      this.waits = waits;
    }

    static Wait decode(long position) {
      return new Wait(position >>> 26, (int) ((position >>> 20) & 63), position & ((1 << 20) - 1));
    }

    long encode() {
      return (sinceSecond << 26) | ((long) Math.min(transients, 63) << 20) | Math.min(waits, (1 << 20) - 1);
    }

    Wait next(boolean transientFailure) {
      return new Wait(sinceSecond, transients + (transientFailure ? 1 : 0), waits + 1);
    }

    long waitedMillis() {
      return Math.max(0, System.currentTimeMillis() - sinceSecond * 1000);
    }
  }

  /** On Flink, before the operator declares its stable-input state (see {@link FlinkStableInput}). */
  private void readObject(java.io.ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    FlinkStableInput.registerIfOnFlink();
  }

  @ProcessElement
  public ProcessContinuation process(
      @Element ShardRef shard, RestrictionTracker<OffsetRange, Long> tracker, MultiOutputReceiver out)
      throws IOException {
    long from = tracker.currentRestriction().getFrom();
    if (from >= DONE) {
      return ProcessContinuation.stop();
    }
    Wait wait = from == 0 ? null : Wait.decode(from - 1);
    String displayName = settings.displayName(shard);
    RecordedJob entry = ledger.find(shard);
    if (entry != null) {
      reattached(shard, wait, entry.jobName(), entry.inputFileName(), tracker, out);
      return ProcessContinuation.stop();
    }
    boolean hadIntent = ledger.hasIntent(shard);
    if (hadIntent) {
      // An earlier try got as far as the create: the job may exist.
      Optional<BatchJob> existing = client.findBatchByDisplayName(displayName);
      if (existing.isPresent()) {
        String input = existing.get().getInputFileName();
        ledger.record(shard, existing.get().getName(), input);
        reattached(shard, wait, existing.get().getName(), input, tracker, out);
        return ProcessContinuation.stop();
      }
    }
    boolean overdue = wait != null && wait.waitedMillis() >= settings.queue.maxQueueWait.getMillis();
    if (pacer != null && !overdue) {
      String why = pacer.tryAcquire(shard);
      if (why != null && refreshPacer()) {
        why = pacer.tryAcquire(shard);
      }
      if (why != null) {
        return waitFor(shard, wait, false, why, settings.pollInterval, tracker);
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
        return quotaRefused(shard, wait, displayName, e, tracker, out);
      }
      if (e.isRetryable()) {
        // A 5xx or 408: the intent stays, so the next try looks the job up first.
        return transientFailure(shard, wait, displayName, e, tracker);
      }
      // The service refused this shard's job for good (e.g. a request it will not accept).
      LOG.warn("Job {} was refused: {}", displayName, e.getMessage());
      if (done(tracker, shard, wait)) {
        ShardFailures.emit(
            shard, GenerateFailure.Stage.SUBMIT, Codes.of(e), e.getServiceMessage(), null, out.get(failures), metrics);
        ledger.forget(shard);
      }
      return ProcessContinuation.stop();
    } catch (CreateOutcomeUnknownException e) {
      // No usable reply: the job may exist. Only a look-up can tell.
      Optional<BatchJob> found = client.findBatchByDisplayName(displayName);
      if (found.isEmpty()) {
        if (pacer != null) {
          pacer.released(shard);
        }
        return transientFailure(shard, wait, displayName, e, tracker);
      }
      job = found.get();
      inputFile = job.getInputFileName();
    }
    ledger.record(shard, job.getName(), inputFile);
    if (pacer != null) {
      pacer.submitted(shard, job.getName());
    }
    if (!done(tracker, shard, wait)) {
      return ProcessContinuation.stop(); // the rest was taken elsewhere: it finds the ledger's entry
    }
    metrics.jobsSubmitted.inc();
    if (shard.attempt > 1) {
      metrics.jobsResubmitted.inc();
    }
    LOG.info("Submitted {} ({} requests, {}) as {}", displayName, shard.requestCount,
        shard.inline ? "inline" : inputFile, job.getName());
    out.get(SUBMITTED).output(new SubmittedJob(shard, job.getName(), inputFile, now()));
    return ProcessContinuation.stop();
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

  private void reattached(
      ShardRef shard, Wait wait, String jobName, String inputFile,
      RestrictionTracker<OffsetRange, Long> tracker, MultiOutputReceiver out) throws IOException {
    if (pacer != null) {
      pacer.reattached(shard, jobName);
    }
    if (done(tracker, shard, wait)) {
      metrics.jobsReattached.inc();
      out.get(SUBMITTED).output(new SubmittedJob(shard, jobName, inputFile, now()));
    }
  }

  /**
   * A create refused for quota created nothing: the shard waits and tries again, until it has
   * waited {@code maxQueueWait}; then its requests fail with the service's message.
   */
  private ProcessContinuation quotaRefused(
      ShardRef shard, Wait wait, String displayName, GeminiApiException e,
      RestrictionTracker<OffsetRange, Long> tracker, MultiOutputReceiver out) throws IOException {
    metrics.quotaRefusals.inc();
    // Nothing was created, and a look-up before this create (hadIntent) found nothing either:
    // the next try need not list the jobs again.
    ledger.forget(shard);
    long waited = wait == null ? 0 : wait.waitedMillis();
    if (waited >= settings.queue.maxQueueWait.getMillis()) {
      LOG.warn("Job {} was refused for quota for {} s, longer than withMaxQueueWait ({}): its requests fail: {}",
          displayName, waited / 1000, settings.queue.maxQueueWait, e.getServiceMessage());
      if (done(tracker, shard, wait)) {
        ShardFailures.emit(
            shard, GenerateFailure.Stage.SUBMIT, Codes.of(e),
            "no quota for the job within withMaxQueueWait (" + settings.queue.maxQueueWait + "): "
                + e.getServiceMessage(),
            null, out.get(failures), metrics);
        ledger.forget(shard);
      }
      return ProcessContinuation.stop();
    }
    long waits = wait == null ? 1 : wait.waits + 1;
    long cap = quotaDelayCap(settings);
    long delay = Math.min(cap, settings.client.getInitialBackoff().toMillis() << Math.min(waits - 1, 30));
    // Jittered in [delay/2, delay], never under the service's Retry-After.
    delay = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1);
    if (e.getRetryAfter() != null) {
      delay = Math.max(delay, e.getRetryAfter().toMillis());
    }
    String why = "refused by the service: HTTP 429 " + e.getStatus() + ": " + firstLine(e.getServiceMessage());
    return waitFor(shard, wait, false, why, Duration.millis(delay), tracker);
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
  private ProcessContinuation transientFailure(
      ShardRef shard, Wait wait, String displayName, IOException e, RestrictionTracker<OffsetRange, Long> tracker)
      throws IOException {
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
    return waitFor(shard, wait, true, "create failed, trying again: " + firstLine(e.getMessage()), Duration.millis(delay), tracker);
  }

  /** Claims the next wait position and resumes later; nothing is held meanwhile. */
  private ProcessContinuation waitFor(
      ShardRef shard, Wait wait, boolean transientFailure, String why, Duration delay,
      RestrictionTracker<OffsetRange, Long> tracker) throws IOException {
    Wait next = (wait == null ? new Wait(System.currentTimeMillis() / 1000, 0, 0) : wait).next(transientFailure);
    if (!tracker.tryClaim(next.encode())) {
      return ProcessContinuation.stop(); // the runner took the rest elsewhere
    }
    if (wait == null) {
      metrics.shardsWaiting.inc();
    }
    metrics.waits.inc();
    ledger.recordWaiting(shard, why);
    LOG.debug("{} waits {} ms: {}", settings.displayName(shard), delay.getMillis(), why);
    return ProcessContinuation.resume().withResumeDelay(delay);
  }

  /** Claims the end; true when this try owns the outcome (else the runner took the rest elsewhere). */
  private boolean done(RestrictionTracker<OffsetRange, Long> tracker, ShardRef shard, Wait wait) throws IOException {
    if (!tracker.tryClaim(DONE)) {
      return false;
    }
    if (wait != null) {
      metrics.shardsWaiting.dec();
      ledger.clearWaiting(shard);
    }
    return true;
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

  private static long now() {
    return System.currentTimeMillis();
  }
}
