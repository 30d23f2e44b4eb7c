package io.geminibatch.connector;

import io.geminibatch.connector.client.GeminiBatchClients;
import java.io.IOException;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Stage 4, submit: one job per shard, however often the bundle is retried ({@link JobSubmitter}
 * does the try: ledger, look-up by display name, upload or inline, create). The shard's later
 * attempts are submitted by {@link AwaitJobFn}, in the same way.
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
  static final TupleTag<SubmittedJob> SUBMITTED = new TupleTag<SubmittedJob>() {};
  static final long DONE = Long.MAX_VALUE - 1;

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();
  private transient JobSubmitter<OutT> submitter;

  SubmitFn(BatchSettings settings, KindSupport<OutT> kind, TupleTag<GenerateFailure> failures) {
    this.settings = settings;
    this.kind = kind;
    this.failures = failures;
  }

  @Setup
  public void setup() {
    submitter = new JobSubmitter<>(settings, kind, metrics, GeminiBatchClients.forConfig(settings.client));
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
    JobSubmitter.Wait wait = from == 0 ? null : JobSubmitter.Wait.decode(from - 1, 0);
    JobSubmitter.Outcome outcome = submitter.submit(shard, wait);
    switch (outcome.type) {
      case WAIT:
        JobSubmitter.Wait next = (wait == null ? JobSubmitter.Wait.first() : wait).next(outcome.transientFailure);
        if (!tracker.tryClaim(next.encode(0))) {
          return ProcessContinuation.stop(); // the runner took the rest elsewhere
        }
        submitter.waiting(shard, wait, outcome.why, outcome.delay);
        return ProcessContinuation.resume().withResumeDelay(outcome.delay);
      case REFUSED:
        if (done(tracker, shard, wait)) {
          ShardFailures.emit(
              shard, GenerateFailure.Stage.SUBMIT, outcome.code, outcome.why, null, out.get(failures)::output, metrics);
          submitter.ledger().forget(shard);
        }
        return ProcessContinuation.stop();
      default:
        if (!done(tracker, shard, wait)) {
          return ProcessContinuation.stop(); // the rest was taken elsewhere: it finds the ledger's entry
        }
        if (!outcome.created) {
          metrics.jobsReattached.inc();
        }
        out.get(SUBMITTED).output(new SubmittedJob(shard, outcome.jobName, outcome.inputFile, System.currentTimeMillis()));
        return ProcessContinuation.stop();
    }
  }

  /** Claims the end; true when this try owns the outcome (else the runner took the rest elsewhere). */
  private boolean done(RestrictionTracker<OffsetRange, Long> tracker, ShardRef shard, JobSubmitter.Wait wait) throws IOException {
    if (!tracker.tryClaim(DONE)) {
      return false;
    }
    submitter.doneWaiting(shard, wait);
    return true;
  }
}
