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
 * Stages 5 and 6, await and read: a splittable DoFn per job. While the job runs it polls {@code
 * batches.get} and resumes later with a growing delay, claiming nothing, so no worker is held.
 * Once the job is terminal it claims and emits its outcome position by position:
 *
 * <ul>
 *   <li>{@code [0, RECONCILE)}: the results, claimed a block at a time: a block is the lines of
 *       the result file that start in the same window of {@code withResultBlockBytes} bytes (32 MB) (the
 *       position claimed is the byte offset of its first line), or {@value #INLINE_BLOCK}
 *       consecutive inlined responses (the position is the index of the first). A read that
 *       resumes after a checkpoint starts at the next block: a file is downloaded from there (an
 *       HTTP Range), never again from its start; and runners that checkpoint after every few
 *       outputs (the Direct runner: 100) still emit a block per bundle, not a few lines;
 *   <li>{@code [RECONCILE, RECONCILE + N)}: staged request j, for requests with no successful
 *       result (error lines, missing keys, a failed job): each becomes a retry or a failure;
 *   <li>{@code DONE}: the job itself, handed to cleanup (and its shard to a new attempt).
 * </ul>
 *
 * A retried or split bundle re-reads from the first unclaimed block, so nothing is emitted twice. Results are matched by key only, never by position, except for inline results whose
 * metadata the service left out, which can only be matched by their position.
 */
@DoFn.BoundedPerElement
final class AwaitJobFn<OutT> extends DoFn<SubmittedJob, ResponseBatch<OutT>> {
  private static final Logger LOG = LoggerFactory.getLogger(AwaitJobFn.class);
  static final long RECONCILE = 1L << 50;
  static final long DONE = 1L << 60;
  /** Inlined responses claimed at once (they are at most 20 MB in all). */
  static final long INLINE_BLOCK = 1024;
  /** Terminal jobs remembered per DoFn instance, so that a resumed read does not poll again. */
  private static final int TERMINAL_JOBS_KEPT = 256;
  /** Failures, retries and completed jobs: one side output (see {@link JobEvent}). */
  static final TupleTag<JobEvent> EVENTS = new TupleTag<JobEvent>() {};
  private static final ApiStatus MISSING =
      new ApiStatus(ApiStatus.UNKNOWN, "the job's output has no result for this key");

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<ResponseBatch<OutT>> responses;
  private final StageMetrics metrics = new StageMetrics();
  private transient GeminiBatchClient client;
  /** Jobs seen terminal (their state no longer changes), by name; least recently used dropped. */
  private transient Map<String, BatchJob> terminal;

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
    terminal =
        new LinkedHashMap<String, BatchJob>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, BatchJob> eldest) {
            return size() > TERMINAL_JOBS_KEPT;
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
    return range.getFrom() >= DONE ? 0 : job.shard.requestCount;
  }

  /** Signals that a claim failed: the runner took the rest of the restriction elsewhere. */
  private static final class Yielded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Yielded() {
      super(null, null, false, false);
    }
  }

  @ProcessElement
  public ProcessContinuation process(
      @Element SubmittedJob job,
      RestrictionTracker<OffsetRange, Long> tracker,
      MultiOutputReceiver out)
      throws IOException {
    if (tracker.currentRestriction().getFrom() > DONE) {
      // Everything, the job's completion included, was claimed before a checkpoint.
      finish(tracker);
      return ProcessContinuation.stop();
    }
    Optional<BatchJob> remote = terminalJob(job, tracker.currentRestriction().getFrom());
    long elapsed = System.currentTimeMillis() - job.submitMillis;
    boolean overdue = settings.maxJobWait != null && elapsed >= settings.maxJobWait.getMillis();
    try {
      if (remote.isEmpty()) {
        LOG.warn("Batch {} no longer exists; its shard is treated as a failed job", job.jobName);
        jobFailed(job, new ApiStatus(ApiStatus.NOT_FOUND, "batch " + job.jobName + " no longer exists"), metrics.jobsFailed, true, tracker, out);
        return ProcessContinuation.stop();
      }
      BatchJob b = remote.get();
      BatchState state = b.getState();
      if (!state.isTerminal()) {
        if (overdue) {
          LOG.warn("Batch {} is still {} after {}: cancelling it", job.jobName, b.getRawState(), settings.maxJobWait);
          client.cancelBatch(job.jobName);
        }
        return ProcessContinuation.resume().withResumeDelay(pollDelay(elapsed));
      }
      switch (state) {
        case SUCCEEDED:
          readResults(job, b, tracker, out);
          break;
        case CANCELLED:
          if (overdue) {
            ApiStatus overdueStatus = new ApiStatus(ApiStatus.DEADLINE_EXCEEDED,
                "batch " + b.getName() + " did not finish within " + settings.maxJobWait + " and was cancelled");
            jobFailed(job, overdueStatus, metrics.jobsExpired, true, tracker, out);
          } else {
            jobFailed(job, status(b, ApiStatus.CANCELLED, "the job was cancelled"), metrics.jobsCancelled, false, tracker, out);
          }
          break;
        case EXPIRED:
          jobFailed(job, status(b, ApiStatus.DEADLINE_EXCEEDED, "the job expired before it ran"), metrics.jobsExpired, true, tracker, out);
          break;
        default:
          jobFailed(job, status(b, ApiStatus.INTERNAL, "the job failed"), metrics.jobsFailed, true, tracker, out);
      }
    } catch (Yielded y) {
      // The runner split off the rest; it resumes from the first unclaimed position.
    }
    return ProcessContinuation.stop();
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

  private void claim(RestrictionTracker<OffsetRange, Long> tracker, long position) {
    if (!tracker.tryClaim(position)) {
      throw new Yielded();
    }
  }

  /** A job without results: a new attempt of its shard if allowed, else a failure per request. */
  private void jobFailed(
      SubmittedJob job,
      ApiStatus why,
      Counter outcome,
      boolean retryable,
      RestrictionTracker<OffsetRange, Long> tracker,
      MultiOutputReceiver out)
      throws IOException {
    boolean retry = retryable && job.shard.attempt < settings.maxAttempts;
    if (!retry && tracker.currentRestriction().getFrom() < DONE) {
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
    }
    claim(tracker, DONE);
    outcome.inc();
    if (retry) {
      LOG.info("Batch {} for {}: {}; submitting attempt {}", job.jobName, job.shard, why.getMessage(), job.shard.attempt + 1);
      out.get(EVENTS).output(JobEvent.retry(job.shard.nextAttempt()));
    }
    out.get(EVENTS).output(JobEvent.completed(new CompletedJob(job, null, retry)));
    finish(tracker);
  }

  private void readResults(
      SubmittedJob job, BatchJob b, RestrictionTracker<OffsetRange, Long> tracker, MultiOutputReceiver out)
      throws IOException {
    long from = tracker.currentRestriction().getFrom();
    if (from == 0) {
      countServiceTime(b);
    }
    StageClock clock = new StageClock();
    try {
      readResults(job, b, from, tracker, out, clock);
    } finally {
      metrics.readMillis.inc(clock.millis());
    }
  }

  /** How long the job ran, and how long its results waited for us, by the service's clock. */
  private void countServiceTime(BatchJob b) {
    if (b.getCreateTime() != null && b.getEndTime() != null) {
      metrics.serviceMillis.inc(Math.max(0, b.getEndTime().toEpochMilli() - b.getCreateTime().toEpochMilli()));
      metrics.resultWaitMillis.inc(Math.max(0, System.currentTimeMillis() - b.getEndTime().toEpochMilli()));
    }
  }

  private void readResults(
      SubmittedJob job,
      BatchJob b,
      long from,
      RestrictionTracker<OffsetRange, Long> tracker,
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
          blocks.add(kind.toOutput(key, partial, raw, start, end, job.jobName), end - start + key.length());
        });
        blocks.flush();
      } catch (IOException | RuntimeException e) {
        blocks.abort();
        throw e;
      }
      complete = blocks.complete(job.shard.requestCount);
    }
    if (!complete && from < DONE) {
      reconcile(job, b, tracker, out);
    }
    claim(tracker, DONE);
    metrics.jobsSucceeded.inc();
    out.get(EVENTS).output(JobEvent.completed(new CompletedJob(job, b.getResponsesFile(), false)));
    finish(tracker);
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

    void add(OutT output, int bytes) throws IOException {
      if (settings.resultFiles != null) {
        if (file == null) {
          file = new ResultFiles.BlockWriter(settings.resultFiles, jobName, block);
        }
        file.write(kind.resultLine(output));
        kind.count(output, tokens);
        written++;
        return;
      }
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
   * and settles every other one as a retry (retryable code, attempts left) or a failure.
   */
  private void reconcile(
      SubmittedJob job, BatchJob b, RestrictionTracker<OffsetRange, Long> tracker, MultiOutputReceiver out)
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
    try (ShardLines lines = new ShardLines(job.shard.stagedPath)) {
      while (lines.next()) {
        long position = RECONCILE + lines.index();
        if (position < from || succeeded.contains(lines.key())) {
          continue;
        }
        claim(tracker, position);
        ApiStatus why = errors.getOrDefault(lines.key(), MISSING);
        if (why.isRetryable() && job.shard.attempt < settings.maxAttempts) {
          metrics.requestsRetried.inc();
          out.get(EVENTS).output(JobEvent.retry(new KeyedRequest(lines.key(), lines.requestBytes(), job.shard.attempt)));
        } else {
          fail(out, lines.key(), lines.requestJson(), GenerateFailure.Stage.RESULT, why, job);
        }
      }
    }
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
  private interface ResultVisitor {
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
