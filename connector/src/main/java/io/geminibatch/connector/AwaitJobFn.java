package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.geminibatch.connector.client.ApiStatus;
import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.BatchState;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiBatchClients;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.apache.beam.sdk.values.TupleTag;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stages 5 and 6, await and read, and the retries: a splittable DoFn per shard. While its job
 * runs it polls {@code batches.get} and resumes later with a growing delay, claiming nothing, so
 * no worker is held. Once the job is terminal it claims and emits its outcome position by
 * position; and when something of it can be tried again (a failed or expired job, requests with
 * a retryable error) it submits the next attempt itself, as {@link SubmitFn} submitted the first
 * ({@link JobSubmitter}: ledger, look-up by display name, never a blind create), and awaits that
 * one in turn. So the pipeline has one round however many attempts are allowed, and a run with
 * nothing to retry pays for no retry step.
 *
 * <p>Attempt {@code k} of the element (0 for the job it came with) owns the positions from
 * {@code base(k, j) = k << 59 | j << 55}, {@code j} the attempt whose job first ran the shard
 * being tried (0: the element's shard; else the retry shard of attempt {@code j}, the requests
 * of attempt {@code j - 1} that failed with a retryable error, staged under a name derived from
 * the element's shard and {@code j}). Within an attempt:
 *
 * <ul>
 *   <li>{@code 0}: claimed by the attempt before, once this attempt's job exists (and is in the
 *       ledger, where a resumed read finds it);
 *   <li>{@code [1, RECONCILE)}: the results, claimed a block at a time: a block is the lines of
 *       the result file that start in the same window of {@code withResultBlockBytes} bytes (32 MB) (the
 *       position claimed is the byte offset of its first line), or {@value #INLINE_BLOCK}
 *       consecutive inlined responses (the position is the index of the first). A read that
 *       resumes after a checkpoint starts at the next block: a file is downloaded from there (an
 *       HTTP Range), never again from its start; and runners that checkpoint after every few
 *       outputs (the Direct runner: 100) still emit a block per bundle, not a few lines;
 *   <li>{@code [RECONCILE, RECONCILE + N)}: staged request i, for requests with no successful
 *       result that fail for good (error lines, missing keys, a failed job);
 *   <li>{@code [NEXT_WHOLE, NEXT_REQUESTS)} and {@code [NEXT_REQUESTS, DONE)}: the waits
 *       (quota, pacing, a failed create) of the next attempt's submission, of the whole shard or
 *       of its retry shard ({@link JobSubmitter.Wait}, its seconds counted from the element's
 *       submission);
 *   <li>{@code DONE}: the last attempt is over; its job is handed to cleanup.
 * </ul>
 *
 * Each attempt's job goes to cleanup (a {@link CompletedJob} event) once the next attempt's job
 * exists, with its shard kept when the next attempt sends it again. A retried or split bundle
 * re-reads from the first unclaimed block, so nothing is emitted twice. Results are matched by
 * key only, never by position, except for inline results whose metadata the service left out,
 * which can only be matched by their position.
 */
@DoFn.BoundedPerElement
final class AwaitJobFn<OutT> extends DoFn<SubmittedJob, ResponseBatch<OutT>> {
  private static final Logger LOG = LoggerFactory.getLogger(AwaitJobFn.class);
  static final int ATTEMPT_SHIFT = 59;
  static final int RETRY_SHARD_SHIFT = 55;
  static final long RECONCILE = 1L << 50;
  static final long NEXT_WHOLE = 1L << 52;
  static final long NEXT_REQUESTS = 1L << 53;
  static final long DONE = 1L << 54;
  /** Inlined responses claimed at once (they are at most 20 MB in all). */
  static final long INLINE_BLOCK = 1024;
  /** Jobs remembered per DoFn instance (terminal ones, later attempts'), so that a resume does not fetch them again. */
  private static final int JOBS_KEPT = 256;
  /** Failures and completed jobs: one side output (see {@link JobEvent}). */
  static final TupleTag<JobEvent> EVENTS = new TupleTag<JobEvent>() {};
  private static final ApiStatus MISSING =
      new ApiStatus(ApiStatus.UNKNOWN, "the job's output has no result for this key");

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<ResponseBatch<OutT>> responses;
  private final StageMetrics metrics = new StageMetrics();
  private transient GeminiBatchClient client;
  private transient JobSubmitter<OutT> submitter;
  /** Jobs seen terminal (their state no longer changes), by name; least recently used dropped. */
  private transient Map<String, BatchJob> terminal;
  /**
   * Later attempts' jobs seen by this instance, by element job and attempt, so that a resumed
   * poll does not read the ledger and the retry shard again; least recently used dropped.
   */
  private transient Map<String, SubmittedJob> attempts;
  /** The common result line read without Jackson; null for a kind that reads more than usage. */
  private transient FastResultLine fast;

  AwaitJobFn(
      BatchSettings settings,
      KindSupport<OutT> kind,
      TupleTag<ResponseBatch<OutT>> responses) {
    this.settings = settings;
    this.kind = kind;
    this.responses = responses;
  }

  @Setup
  public void setup() {
    client = GeminiBatchClients.forConfig(settings.client);
    submitter = new JobSubmitter<>(settings, kind, metrics, client);
    terminal = lru();
    attempts = lru();
    fast = kind.fromUsage(0, 0, 0) != null ? new FastResultLine() : null;
  }

  private static <V> Map<String, V> lru() {
    return new LinkedHashMap<String, V>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > JOBS_KEPT;
      }
    };
  }

  @GetInitialRestriction
  public OffsetRange initialRestriction(@Element SubmittedJob job) {
    return new OffsetRange(0, Long.MAX_VALUE);
  }

  @NewTracker
  public RestrictionTracker<OffsetRange, Long> newTracker(@Restriction OffsetRange range) {
    return new CheckpointOnlyTracker(range);
  }

  @GetSize
  public double getSize(@Element SubmittedJob job, @Restriction OffsetRange range) {
    return inner(range.getFrom()) >= DONE ? 0 : job.shard.requestCount;
  }

  static long base(int attempt, int retryShard) {
    return ((long) attempt << ATTEMPT_SHIFT) | ((long) retryShard << RETRY_SHARD_SHIFT);
  }

  static long inner(long position) {
    return position & ((1L << RETRY_SHARD_SHIFT) - 1);
  }

  /** Signals that a claim failed: the runner took the rest of the restriction elsewhere. */
  private static final class Yielded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Yielded() {
      super(null, null, false, false);
    }
  }

  /** What the current attempt came to. */
  private static final class Step {
    static final Step STOP = new Step(null, 0, 0, null);
    final Duration resumeAfter;
    final int attempt;
    final int retryShard;
    final SubmittedJob next;

    private Step(Duration resumeAfter, int attempt, int retryShard, SubmittedJob next) {
      this.resumeAfter = resumeAfter;
      this.attempt = attempt;
      this.retryShard = retryShard;
      this.next = next;
    }

    static Step resume(Duration after) {
      return new Step(after, 0, 0, null);
    }

    static Step next(int attempt, int retryShard, SubmittedJob job) {
      return new Step(null, attempt, retryShard, job);
    }
  }

  @ProcessElement
  public ProcessContinuation process(
      @Element SubmittedJob element,
      RestrictionTracker<OffsetRange, Long> tracker,
      MultiOutputReceiver out)
      throws IOException {
    long from = tracker.currentRestriction().getFrom();
    if (inner(from) > DONE) {
      // Everything, the last job's completion included, was claimed before a checkpoint.
      finish(tracker);
      return ProcessContinuation.stop();
    }
    int attempt = (int) (from >>> ATTEMPT_SHIFT);
    int retryShard = (int) ((from >>> RETRY_SHARD_SHIFT) & 15);
    SubmittedJob job = attempt == 0 ? element : recordedJob(element, attempt, retryShard);
    while (true) {
      Shifted shifted = new Shifted(tracker, base(attempt, retryShard));
      Step step;
      try {
        step = attempt(element, job, attempt, retryShard, shifted, out);
      } catch (Yielded y) {
        // The runner split off the rest; it resumes from the first unclaimed position.
        return ProcessContinuation.stop();
      }
      if (step.resumeAfter != null) {
        return ProcessContinuation.resume().withResumeDelay(step.resumeAfter);
      }
      if (step.next == null) {
        return ProcessContinuation.stop();
      }
      attempt = step.attempt;
      retryShard = step.retryShard;
      job = step.next;
    }
  }

  /** Awaits and reads one attempt's job, and submits the next attempt if one is due. */
  private Step attempt(
      SubmittedJob element, SubmittedJob job, int attempt, int retryShard, Shifted tracker, MultiOutputReceiver out)
      throws IOException {
    long from = tracker.currentRestriction().getFrom();
    Optional<BatchJob> remote = terminalJob(job, from);
    if (from >= NEXT_WHOLE) {
      // This attempt is over; the next one waited to be submitted.
      String responsesFile = remote.map(BatchJob::getResponsesFile).orElse(null);
      return submitNext(element, job, attempt, retryShard, from >= NEXT_REQUESTS, responsesFile, tracker, out);
    }
    if (remote.isEmpty()) {
      LOG.warn("Batch {} no longer exists; its shard is treated as a failed job", job.jobName);
      ApiStatus gone = new ApiStatus(ApiStatus.NOT_FOUND, "batch " + job.jobName + " no longer exists");
      return jobFailed(element, job, attempt, retryShard, gone, metrics.jobsFailed, true, tracker, out);
    }
    BatchJob b = remote.get();
    long started = attempt == 0 || b.getCreateTime() == null ? job.submitMillis : b.getCreateTime().toEpochMilli();
    long elapsed = System.currentTimeMillis() - started;
    boolean overdue = settings.maxJobWait != null && elapsed >= settings.maxJobWait.getMillis();
    BatchState state = b.getState();
    if (!state.isTerminal()) {
      if (overdue) {
        LOG.warn("Batch {} is still {} after {}: cancelling it", job.jobName, b.getRawState(), settings.maxJobWait);
        client.cancelBatch(job.jobName);
      }
      return Step.resume(pollDelay(elapsed));
    }
    switch (state) {
      case SUCCEEDED:
        return readResults(element, job, attempt, retryShard, b, tracker, out);
      case CANCELLED:
        if (overdue) {
          ApiStatus overdueStatus = new ApiStatus(ApiStatus.DEADLINE_EXCEEDED,
              "batch " + b.getName() + " did not finish within " + settings.maxJobWait + " and was cancelled");
          return jobFailed(element, job, attempt, retryShard, overdueStatus, metrics.jobsExpired, true, tracker, out);
        }
        return jobFailed(
            element, job, attempt, retryShard, status(b, ApiStatus.CANCELLED, "the job was cancelled"), metrics.jobsCancelled, false, tracker, out);
      case EXPIRED:
        return jobFailed(
            element, job, attempt, retryShard, status(b, ApiStatus.DEADLINE_EXCEEDED, "the job expired before it ran"), metrics.jobsExpired, true, tracker, out);
      default:
        return jobFailed(element, job, attempt, retryShard, status(b, ApiStatus.INTERNAL, "the job failed"), metrics.jobsFailed, true, tracker, out);
    }
  }

  /**
   * The job of a later attempt, from the ledger: the attempt before recorded it there before it
   * claimed this attempt's first position.
   */
  private SubmittedJob recordedJob(SubmittedJob element, int attempt, int retryShard) throws IOException {
    SubmittedJob known = attempts.get(attemptKey(element, attempt, retryShard));
    if (known != null) {
      return known;
    }
    ShardRef shard = shardOf(element, attempt, retryShard);
    RecordedJob recorded = submitter.ledger().find(shard);
    if (recorded == null) {
      throw new IOException(
          "The job ledger has no job for " + shard + " (attempt " + (attempt + 1) + " of the shard of " + element.jobName
              + "), though its submission was claimed: was the staging location " + settings.stagingDir + " cleared during the run?");
    }
    SubmittedJob job = new SubmittedJob(shard, recorded.jobName(), recorded.inputFileName(), element.submitMillis);
    attempts.put(attemptKey(element, attempt, retryShard), job);
    return job;
  }

  private static String attemptKey(SubmittedJob element, int attempt, int retryShard) {
    return element.jobName + "/" + attempt + "/" + retryShard;
  }

  /** The shard attempt {@code attempt} of the element sends: its own, or a retry shard. */
  private ShardRef shardOf(SubmittedJob element, int attempt, int retryShard) throws IOException {
    ShardRef shard = retryShard == 0 ? element.shard : RetryShards.ref(settings, element.shard, retryShard);
    return shard.withAttempt(element.shard.attempt + attempt);
  }

  /**
   * The job as the service reports it. Once something was claimed the job was terminal, and a
   * terminal job does not change: a resumed read takes it from memory when this instance saw it.
   */
  private Optional<BatchJob> terminalJob(SubmittedJob job, long from) throws IOException {
    BatchJob known = from > 0 ? terminal.get(job.jobName) : null;
    if (known != null) {
      return Optional.of(known);
    }
    metrics.polls.inc();
    Optional<BatchJob> remote = client.getBatch(job.jobName);
    if (remote.isPresent() && remote.get().getState().isTerminal()) {
      terminal.put(job.jobName, remote.get());
    }
    if (remote.isEmpty() || remote.get().getState().isTerminal()) {
      // The job no longer holds the service's quota: the submit step may use its place.
      SubmitPacer.jobFinished(settings, job.jobName);
    }
    return remote;
  }

  private static ApiStatus status(BatchJob b, int code, String fallback) {
    ApiStatus e = b.getError();
    String state = "batch " + b.getName() + " ended " + b.getRawState();
    if (e == null) {
      return new ApiStatus(code, state + ": " + fallback);
    }
    return new ApiStatus(e.getCode() == 0 ? code : e.getCode(), state + ": " + e.getMessage());
  }

  /** Backoff that grows with the job's age: a tenth of it, between the poll interval and its max. */
  private Duration pollDelay(long elapsedMillis) {
    long min = settings.pollInterval.getMillis();
    long max = settings.maxPollInterval().getMillis();
    return Duration.millis(Math.max(min, Math.min(max, elapsedMillis / 10)));
  }

  private static void claim(RestrictionTracker<OffsetRange, Long> tracker, long position) {
    if (!tracker.tryClaim(position)) {
      throw new Yielded();
    }
  }

  /** A job without results: a new attempt of its shard if allowed, else a failure per request. */
  private Step jobFailed(
      SubmittedJob element,
      SubmittedJob job,
      int attempt,
      int retryShard,
      ApiStatus why,
      Counter outcome,
      boolean retryable,
      Shifted tracker,
      MultiOutputReceiver out)
      throws IOException {
    if (retryable && job.shard.attempt < settings.maxAttempts) {
      outcome.inc();
      LOG.info("Batch {} for {}: {}; submitting attempt {}", job.jobName, job.shard, why.getMessage(), job.shard.attempt + 1);
      return submitNext(element, job, attempt, retryShard, false, null, tracker, out);
    }
    long from = tracker.currentRestriction().getFrom();
    try (ShardLines lines = new ShardLines(job.shard.stagedPath)) {
      while (lines.next()) {
        long position = RECONCILE + lines.index();
        if (position < from) {
          continue;
        }
        claim(tracker, position);
        fail(out, lines.key(), lines.requestJson(), GenerateFailure.Stage.JOB, why, job);
      }
    }
    claim(tracker, DONE);
    outcome.inc();
    out.get(EVENTS).output(JobEvent.completed(new CompletedJob(job, null, false)));
    finish(tracker);
    return Step.STOP;
  }

  /**
   * Submits the next attempt: the whole shard again, or the retry shard this attempt's reconcile
   * pass staged. Waits (quota, pacing) are claimed in this attempt's next-submission range; once
   * the job exists, the next attempt's first position is claimed, this attempt's job goes to
   * cleanup and the next one is awaited.
   */
  private Step submitNext(
      SubmittedJob element,
      SubmittedJob job,
      int attempt,
      int retryShard,
      boolean requests,
      String responsesFile,
      Shifted tracker,
      MultiOutputReceiver out)
      throws IOException {
    int nextRetryShard = requests ? attempt + 1 : retryShard;
    ShardRef next = shardOf(element, attempt + 1, nextRetryShard);
    long range = requests ? NEXT_REQUESTS : NEXT_WHOLE;
    long epoch = element.submitMillis / 1000;
    long from = tracker.currentRestriction().getFrom();
    JobSubmitter.Wait wait = from > range ? JobSubmitter.Wait.decode(from - 1 - range, epoch) : null;
    JobSubmitter.Outcome outcome = submitter.submit(next, wait);
    switch (outcome.type) {
      case WAIT:
        JobSubmitter.Wait nextWait = (wait == null ? JobSubmitter.Wait.first() : wait).next(outcome.transientFailure);
        claim(tracker, range + nextWait.encode(epoch));
        submitter.waiting(next, wait, outcome.why, outcome.delay);
        return Step.resume(outcome.delay);
      case REFUSED:
        claim(tracker, DONE);
        submitter.doneWaiting(next, wait);
        ShardFailures.emit(
            next, GenerateFailure.Stage.SUBMIT, outcome.code, outcome.why, null, f -> out.get(EVENTS).output(JobEvent.failure(f)), metrics);
        submitter.ledger().forget(next);
        out.get(EVENTS).output(JobEvent.completed(new CompletedJob(job, responsesFile, false)));
        if (requests) {
          Staging.delete(next.stagedPath);
        }
        finish(tracker);
        return Step.STOP;
      default:
        claim(tracker.raw, base(attempt + 1, nextRetryShard));
        submitter.doneWaiting(next, wait);
        if (!outcome.created) {
          metrics.jobsReattached.inc();
        }
        if (requests) {
          metrics.requestsRetried.inc(next.requestCount);
        }
        out.get(EVENTS).output(JobEvent.completed(new CompletedJob(job, responsesFile, !requests)));
        SubmittedJob nextJob = new SubmittedJob(next, outcome.jobName, outcome.inputFile, System.currentTimeMillis());
        attempts.put(attemptKey(element, attempt + 1, nextRetryShard), nextJob);
        return Step.next(attempt + 1, nextRetryShard, nextJob);
    }
  }

  private Step readResults(
      SubmittedJob element, SubmittedJob job, int attempt, int retryShard, BatchJob b, Shifted tracker, MultiOutputReceiver out)
      throws IOException {
    long from = tracker.currentRestriction().getFrom();
    if (from == 0) {
      countServiceTime(b);
    }
    StageClock clock = new StageClock();
    boolean retries;
    try {
      retries = readResults(element, job, attempt, b, from, tracker, out, clock);
    } finally {
      metrics.readMillis.inc(clock.millis());
    }
    if (retries) {
      return submitNext(element, job, attempt, retryShard, true, b.getResponsesFile(), tracker, out);
    }
    claim(tracker, DONE);
    metrics.jobsSucceeded.inc();
    out.get(EVENTS).output(JobEvent.completed(new CompletedJob(job, b.getResponsesFile(), false)));
    finish(tracker);
    return Step.STOP;
  }

  /** How long the job ran, and how long its results waited for us, by the service's clock. */
  private void countServiceTime(BatchJob b) {
    if (b.getCreateTime() != null && b.getEndTime() != null) {
      metrics.serviceMillis.inc(Math.max(0, b.getEndTime().toEpochMilli() - b.getCreateTime().toEpochMilli()));
      metrics.resultWaitMillis.inc(Math.max(0, System.currentTimeMillis() - b.getEndTime().toEpochMilli()));
    }
  }

  /** Emits the job's results; true when some requests are to be tried again (in a retry shard). */
  private boolean readResults(
      SubmittedJob element,
      SubmittedJob job,
      int attempt,
      BatchJob b,
      long from,
      Shifted tracker,
      MultiOutputReceiver out,
      StageClock clock)
      throws IOException {
    boolean complete = false;
    if (from < RECONCILE) {
      long blockSize = b.getResponsesFile() != null ? settings.resultBlockBytes : INLINE_BLOCK;
      ResultBlocks blocks = new ResultBlocks(job.jobName, from, blockSize, tracker, out, clock);
      try {
        forEachResult(job, b, blocks.firstPosition(), true, (position, key, partial, raw, start, end, error) -> {
          blocks.moveTo(position);
          if (key == null || error != null) {
            blocks.anomaly(); // settled in the reconciliation pass, where the request is at hand
            return;
          }
          if (!blocks.emitted.add(key)) {
            LOG.warn("Batch {} returned key {} twice; the second result is ignored", job.jobName, key);
            blocks.anomaly();
            return;
          }
          blocks.add(key, partial, raw, start, end, job.jobName);
        });
        blocks.flush();
      } catch (IOException | RuntimeException e) {
        blocks.abort();
        throw e;
      }
      complete = blocks.complete(job.shard.requestCount);
    }
    return !complete && reconcile(element, job, attempt, b, tracker, out);
  }

  /**
   * The results of one read, claimed a block at a time once the block is parsed and before any
   * of it is emitted. The position claimed for block {@code k} is {@code ((k + 1) << 32) | c},
   * {@code c} the responses emitted up to its end, so that a read resumed after a checkpoint
   * (whose restriction starts one past the last claim) knows where to start and how many came
   * before it: a job read in several bundles needs no second pass to tell it is complete. With
   * {@code withResultFiles} a block's responses are written to its file ({@link ResultFiles})
   * as they are read, and the file is committed once the block is claimed; nothing is emitted.
   */
  private final class ResultBlocks {
    private final long blockSize;
    private final RestrictionTracker<OffsetRange, Long> tracker;
    private final MultiOutputReceiver out;
    private final StageClock clock;
    private final java.util.List<OutT> pending = new java.util.ArrayList<>();
    /** Where the pending outputs are cut into batches of about {@link ResponseBatch#TARGET_BYTES}. */
    private final java.util.List<Integer> cuts = new java.util.ArrayList<>();
    private long bytesSinceCut;
    private final String jobName;
    /** The current block's file, with {@code withResultFiles}; null until its first response. */
    private ResultFiles.BlockWriter file;
    private long written;
    private final long[] tokens = new long[2];
    /** Keys emitted by this read (a resumed read cannot see those of earlier bundles). */
    final FingerprintSet emitted = new FingerprintSet();
    private final boolean resumed;
    private long block;
    private long count;
    private boolean anomalies;

    ResultBlocks(String jobName, long from, long blockSize, RestrictionTracker<OffsetRange, Long> tracker, MultiOutputReceiver out, StageClock clock) {
      this.jobName = jobName;
      this.blockSize = blockSize;
      this.tracker = tracker;
      this.out = out;
      this.clock = clock;
      this.resumed = from > 0;
      // from = (last claimed block + 1) << 32 | (responses up to its end + 1); or 0.
      this.block = resumed ? (from >>> 32) : 0;
      this.count = resumed ? (from & 0xffffffffL) - 1 : 0;
    }

    /** The first position of the first block this read owns. */
    long firstPosition() {
      return block * blockSize;
    }

    /** Before the result at {@code position}: claims and emits the blocks before its own. */
    void moveTo(long position) throws IOException {
      long k = position / blockSize;
      if (k != block) {
        flush();
        block = k;
      }
    }

    /** The response at {@code raw[start, end)}: written to the block's file, or held as an output. */
    void add(String key, Object partial, byte[] raw, int start, int end, String jobName) throws IOException {
      if (settings.resultFiles == null) {
        add(kind.toOutput(key, partial, raw, start, end, jobName), end - start + key.length());
        return;
      }
      if (file == null) {
        file = new ResultFiles.BlockWriter(settings.resultFiles, jobName, block);
      }
      try {
        kind.writeResultLine(key, partial, raw, start, end, file.stream(), tokens);
      } catch (IOException e) {
        throw file.failed(e);
      }
      written++;
    }

    /** An output held for the block's batches (without result files). */
    void add(OutT output, int bytes) {
      pending.add(output);
      bytesSinceCut += bytes;
      if (bytesSinceCut >= ResponseBatch.TARGET_BYTES) {
        cuts.add(pending.size());
        bytesSinceCut = 0;
      }
    }

    void anomaly() {
      anomalies = true;
    }

    /** Claims the current block and emits what it holds, or commits its file. */
    void flush() throws IOException {
      if (settings.resultFiles != null) {
        flushFile();
        return;
      }
      if (pending.isEmpty() && !anomalies) {
        return; // nothing read in this block
      }
      count += pending.size();
      long position = ((block + 1) << 32) | count;
      claim(tracker, position);
      long[] tokens = new long[2];
      long t = System.nanoTime();
      for (OutT output : pending) {
        kind.count(output, tokens);
      }
      int lastCut = cuts.isEmpty() ? 0 : cuts.get(cuts.size() - 1);
      if (lastCut < pending.size()) {
        cuts.add(pending.size());
      }
      int from = 0;
      for (int cut : cuts) {
        out.get(responses).output(ResponseBatch.of(pending.subList(from, cut)));
        from = cut;
      }
      clock.exclude(t);
      metrics.responses.inc(pending.size());
      metrics.promptTokens.inc(tokens[0]);
      metrics.candidatesTokens.inc(tokens[1]);
      pending.clear();
      cuts.clear();
      bytesSinceCut = 0;
      if (tracker.currentRestriction().getTo() <= position + 1) {
        // The runner took a checkpoint meanwhile: stop before reading a block that is not ours.
        throw new Yielded();
      }
    }

    private void flushFile() throws IOException {
      if (written == 0 && !anomalies) {
        return; // nothing read in this block
      }
      count += written;
      long position = ((block + 1) << 32) | count;
      try {
        claim(tracker, position);
      } catch (Yielded y) {
        abort();
        throw y;
      }
      if (file != null) {
        file.commit();
        file = null;
      }
      metrics.responses.inc(written);
      metrics.promptTokens.inc(tokens[0]);
      metrics.candidatesTokens.inc(tokens[1]);
      written = 0;
      tokens[0] = 0;
      tokens[1] = 0;
      if (tracker.currentRestriction().getTo() <= position + 1) {
        throw new Yielded();
      }
    }

    /** Drops the current block's file, if any (its claim or its read failed). */
    void abort() {
      if (file != null) {
        file.abort();
        file = null;
      }
    }

    /** True when every request got one response and nothing else came back. */
    boolean complete(long requests) {
      return !anomalies && count == requests;
    }
  }

  /**
   * Second pass for a job whose results did not all come back as responses (or whose first pass
   * was split): collects the keys that succeeded and the errors, then walks the staged requests
   * and settles every other one as a retry (retryable code, attempts left) or a failure. The
   * retries are staged as the next attempt's retry shard, all of them on every pass (the file
   * depends only on the job's results, so a resumed pass writes the same one); the failures are
   * claimed and emitted one by one. True when there is a retry shard.
   */
  private boolean reconcile(
      SubmittedJob element, SubmittedJob job, int attempt, BatchJob b, Shifted tracker, MultiOutputReceiver out)
      throws IOException {
    FingerprintSet succeeded = new FingerprintSet();
    Map<String, ApiStatus> errors = new HashMap<>();
    forEachResult(job, b, 0, false, (position, key, partial, raw, start, end, error) -> {
      if (key != null) {
        if (error != null) {
          errors.put(key, error);
        } else {
          succeeded.add(key);
        }
      }
    });
    long from = tracker.currentRestriction().getFrom();
    boolean attemptsLeft = job.shard.attempt < settings.maxAttempts;
    RetryShards.Writer retries = attemptsLeft ? new RetryShards.Writer(settings, element.shard, attempt + 1) : null;
    try (ShardLines lines = new ShardLines(job.shard.stagedPath)) {
      while (lines.next()) {
        if (succeeded.contains(lines.key())) {
          continue;
        }
        ApiStatus why = errors.getOrDefault(lines.key(), MISSING);
        if (attemptsLeft && why.isRetryable()) {
          retries.write(lines.buffer(), lines.lineStart(), lines.lineLength());
          continue;
        }
        long position = RECONCILE + lines.index();
        if (position < from) {
          continue;
        }
        claim(tracker, position);
        fail(out, lines.key(), lines.requestJson(), GenerateFailure.Stage.RESULT, why, job);
      }
    } catch (IOException | RuntimeException e) {
      if (retries != null) {
        retries.abort();
      }
      throw e;
    }
    return retries != null && retries.commit();
  }

  private void fail(
      MultiOutputReceiver out, String key, String request, GenerateFailure.Stage stage, ApiStatus why, SubmittedJob job) {
    metrics.failures.inc();
    out.get(EVENTS)
        .output(JobEvent.failure(new GenerateFailure(key, request, stage, why.getCode(), why.getMessage(), job.jobName, job.shard.attempt)));
  }

  private static void finish(RestrictionTracker<OffsetRange, Long> tracker) {
    // Claiming past the end marks the restriction done.
    tracker.tryClaim(Long.MAX_VALUE);
  }

  /**
   * Receives one result, at its position (a byte offset in the result file, or an index of the
   * inlined responses): its key (null if it has none), and either the response read by the kind
   * ({@code partial}, with its raw bytes {@code raw[start, end)}) or an error.
   */
  @FunctionalInterface
  interface ResultVisitor {
    void visit(long position, String key, Object partial, byte[] raw, int start, int end, ApiStatus error)
        throws IOException;
  }

  /**
   * Walks a finished job's results from position {@code first} on (a byte offset of the result
   * file, or an index of the inlined responses), from the result file or the inlined responses.
   * With {@code parse} false the responses are skipped, not read.
   */
  private void forEachResult(SubmittedJob job, BatchJob b, long first, boolean parse, ResultVisitor visitor)
      throws IOException {
    if (b.getResponsesFile() != null) {
      // From the byte before: a line starts at `first` only if a newline precedes it.
      long opened = Math.max(0, first - 1);
      try (InputStream in = client.download(b.getResponsesFile(), opened);
          LineReader lines = new LineReader(in, ShardLines.MAX_LINE_BYTES)) {
        while (lines.next()) {
          long position = opened + lines.offset();
          if (position >= first) {
            visitLine(position, lines.buffer(), lines.start(), lines.length(), parse, visitor);
          }
        }
      }
      return;
    }
    try (PositionalKeys positional = new PositionalKeys(job.shard)) {
      client.readInlinedResponses(job.jobName, (index, key, responseJson, error) -> {
        if (index < first) {
          return;
        }
        String k = key != null ? key : positional.keyAt(index);
        if (responseJson == null) {
          visitor.visit(index, k, null, null, 0, 0, error == null ? MISSING : error);
          return;
        }
        Object partial = null;
        if (parse) {
          try (JsonParser p = Json.FACTORY.createParser(responseJson)) {
            p.nextToken();
            partial = kind.readResponse(p);
          }
        }
        visitor.visit(index, k, partial, responseJson, 0, responseJson.length, null);
      });
    }
  }

  /**
   * Parses one result line {@code {"key", "response" | "error"}}, fields in any order, in one
   * pass: the kind reads the response where it stands, and its bytes are kept as a slice.
   */
  private void visitLine(long position, byte[] buf, int off, int len, boolean parse, ResultVisitor visitor)
      throws IOException {
    if (fast != null && fast.scan(buf, off, len)) {
      Object partial = parse ? kind.fromUsage(fast.promptTokens, fast.candidatesTokens, fast.totalTokens) : null;
      visitor.visit(position, fast.key(), partial, buf, fast.responseStart, fast.responseEnd, null);
      return;
    }
    visitLineGenerally(kind, position, buf, off, len, parse, visitor);
  }

  /** {@link #visitLine} with Jackson: any line, and the oracle of {@link FastResultLine}. */
  static void visitLineGenerally(
      KindSupport<?> kind, long position, byte[] buf, int off, int len, boolean parse, ResultVisitor visitor)
      throws IOException {
    String key = null;
    ApiStatus error = null;
    Object partial = null;
    int start = -1;
    int end = -1;
    try (JsonParser p = Json.FACTORY.createParser(buf, off, len)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("key")) {
          key = p.getValueAsString();
        } else if (field.equals("error") && value == JsonToken.START_OBJECT) {
          error = readStatus(p);
        } else if (field.equals("response") && value == JsonToken.START_OBJECT) {
          start = off + (int) p.currentTokenLocation().getByteOffset();
          if (parse) {
            partial = kind.readResponse(p);
          } else {
            p.skipChildren();
          }
          end = off + (int) p.currentLocation().getByteOffset();
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      LOG.warn("The result line at byte {} is not valid JSON ({}); its key counts as missing", position, Json.describe(e));
      visitor.visit(position, null, null, null, 0, 0, MISSING);
      return;
    }
    if (start < 0 && error == null) {
      error = MISSING;
    }
    visitor.visit(position, key, partial, buf, start, end, error);
  }

  static ApiStatus readStatus(JsonParser p) throws IOException {
    int code = ApiStatus.UNKNOWN;
    String message = "";
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      if (name.equals("code")) {
        code = p.getValueAsInt(ApiStatus.UNKNOWN);
      } else if (name.equals("message")) {
        message = p.getValueAsString("");
      } else {
        p.skipChildren();
      }
    }
    return new ApiStatus(code, message);
  }

  /** Keys by position in the staged shard, for inlined responses that lack their metadata. */
  private static final class PositionalKeys implements AutoCloseable {
    private final ShardRef shard;
    private ShardLines lines;

    PositionalKeys(ShardRef shard) {
      this.shard = shard;
    }

    String keyAt(long index) throws IOException {
      if (lines == null || lines.index() > index) {
        close();
        lines = new ShardLines(shard.stagedPath);
      }
      while (lines.index() < index) {
        if (!lines.next()) {
          return null;
        }
      }
      return lines.index() == index ? lines.key() : null;
    }

    @Override
    public void close() throws IOException {
      if (lines != null) {
        lines.close();
        lines = null;
      }
    }
  }

  /**
   * One attempt's view of the element's restriction: positions relative to the attempt's base
   * ({@code Long.MAX_VALUE}, the end, stays itself).
   */
  static final class Shifted extends RestrictionTracker<OffsetRange, Long> {
    final RestrictionTracker<OffsetRange, Long> raw;
    private final long base;

    Shifted(RestrictionTracker<OffsetRange, Long> raw, long base) {
      this.raw = raw;
      this.base = base;
    }

    @Override
    public boolean tryClaim(Long position) {
      return raw.tryClaim(position == Long.MAX_VALUE ? position : base + position);
    }

    @Override
    public OffsetRange currentRestriction() {
      OffsetRange r = raw.currentRestriction();
      long to = Math.max(0, r.getTo() - base);
      return new OffsetRange(Math.min(to, Math.max(0, r.getFrom() - base)), to);
    }

    @Override
    public SplitResult<OffsetRange> trySplit(double fractionOfRemainder) {
      return raw.trySplit(fractionOfRemainder);
    }

    @Override
    public void checkDone() throws IllegalStateException {
      raw.checkDone();
    }

    @Override
    public IsBounded isBounded() {
      return raw.isBounded();
    }
  }

  /**
   * An offset tracker that only splits at the current position (checkpoints and resumes). A
   * fractional split of a range whose end is not known would only make a second reader skip the
   * whole file to find nothing.
   */
  static final class CheckpointOnlyTracker extends OffsetRangeTracker {
    CheckpointOnlyTracker(OffsetRange range) {
      super(range);
    }

    @Override
    public SplitResult<OffsetRange> trySplit(double fractionOfRemainder) {
      return fractionOfRemainder == 0 ? super.trySplit(0) : null;
    }
  }
}
