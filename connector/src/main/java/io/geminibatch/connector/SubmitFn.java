package io.geminibatch.connector;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.GeminiApiException;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiBatchClients;
import io.geminibatch.connector.client.GeminiFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.TupleTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 4, submit: one job per shard attempt, however often the bundle is retried. The ledger is
 * consulted first; an attempt that may already have created its job looks it up by display name;
 * a create is never blindly retried. Input over the inline threshold is uploaded (to a file id
 * derived from the shard, reused when already there), smaller shards go inline.
 */
final class SubmitFn<OutT> extends DoFn<ShardRef, SubmittedJob> {
  private static final Logger LOG = LoggerFactory.getLogger(SubmitFn.class);
  static final TupleTag<SubmittedJob> SUBMITTED = new TupleTag<SubmittedJob>() {};
  /** Tries of a create before the bundle fails (each failed try was answered or looked up). */
  static final int CREATE_TRIES = 8;

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();
  private transient GeminiBatchClient client;
  private transient JobLedger ledger;

  SubmitFn(BatchSettings settings, KindSupport<OutT> kind, TupleTag<GenerateFailure> failures) {
    this.settings = settings;
    this.kind = kind;
    this.failures = failures;
  }

  @Setup
  public void setup() {
    client = GeminiBatchClients.forConfig(settings.client);
    ledger = new JobLedger(settings);
  }

  /** On Flink, before the operator declares its stable-input state (see {@link FlinkStableInput}). */
  private void readObject(java.io.ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    FlinkStableInput.registerIfOnFlink();
  }

  @RequiresStableInput
  @ProcessElement
  public void process(@Element ShardRef shard, MultiOutputReceiver out)
      throws IOException, InterruptedException {
    String displayName = settings.displayName(shard);
    JobLedger.Entry entry = ledger.find(shard);
    if (entry != null) {
      metrics.jobsReattached.inc();
      out.get(SUBMITTED).output(new SubmittedJob(shard, entry.jobName, entry.inputFileName, now()));
      return;
    }
    if (ledger.hasIntent(shard)) {
      // An earlier try got as far as the create: the job may exist.
      Optional<BatchJob> existing = client.findBatchByDisplayName(displayName);
      if (existing.isPresent()) {
        metrics.jobsReattached.inc();
        String input = existing.get().getInputFileName();
        ledger.record(shard, existing.get().getName(), input);
        out.get(SUBMITTED).output(new SubmittedJob(shard, existing.get().getName(), input, now()));
        return;
      }
    }
    StageClock upload = new StageClock();
    String inputFile = shard.inline ? null : ensureUploaded(shard, displayName);
    byte[] inlineRequests = shard.inline ? inlineRequests(shard) : null;
    metrics.uploadMillis.inc(upload.millis());
    ledger.recordIntent(shard);
    BatchJob job;
    try {
      job = create(shard, displayName, inputFile, inlineRequests);
    } catch (GeminiApiException e) {
      // The service refused this shard's job for good (e.g. a request it will not accept).
      LOG.warn("Job {} was refused: {}", displayName, e.getMessage());
      ShardFailures.emit(
          shard, GenerateFailure.Stage.SUBMIT, Codes.of(e), e.getServiceMessage(), null, out.get(failures), metrics);
      ledger.forget(shard);
      return;
    }
    ledger.record(shard, job.getName(), inputFile);
    metrics.jobsSubmitted.inc();
    if (shard.attempt > 1) {
      metrics.jobsResubmitted.inc();
    }
    LOG.info("Submitted {} ({} requests, {}) as {}", displayName, shard.requestCount,
        shard.inline ? "inline" : inputFile, job.getName());
    out.get(SUBMITTED).output(new SubmittedJob(shard, job.getName(), inputFile, now()));
  }

  /**
   * Creates the job. A refusal the service will repeat (a 4xx other than 408/429) is thrown; a
   * quota refusal (nothing was created) is waited out; a reply that never came, or a 5xx, is
   * resolved by looking the job up before trying again.
   * Configuration errors (key, permission, unknown model) fail the bundle with the service's
   * message, since every shard would fail the same way.
   */
  private BatchJob create(ShardRef shard, String displayName, String inputFile, byte[] inline)
      throws IOException, InterruptedException {
    IOException last = null;
    for (int attempt = 1; attempt <= CREATE_TRIES; attempt++) {
      try {
        return inline != null
            ? client.createInlineBatch(kind.kind(), settings.model, displayName, inline)
            : client.createFileBatch(kind.kind(), settings.model, displayName, inputFile);
      } catch (GeminiApiException e) {
        if (isConfigurationError(e)) {
          throw new IOException(
              "Gemini refused to create batch " + displayName + " for model " + settings.model
                  + ": " + e.getMessage(), e);
        }
        if (!e.isRetryable()) {
          throw e;
        }
        last = e;
        pause(attempt, e.getRetryAfter() == null ? 0 : e.getRetryAfter().toMillis());
      } catch (IOException e) {
        // No usable reply (CreateOutcomeUnknownException): the job may exist. Only a look-up can tell.
        last = e;
        Optional<BatchJob> found = client.findBatchByDisplayName(displayName);
        if (found.isPresent()) {
          return found.get();
        }
        pause(attempt, 0);
      }
    }
    throw new IOException("Could not create batch " + displayName + " after " + CREATE_TRIES + " tries", last);
  }

  private static boolean isConfigurationError(GeminiApiException e) {
    int s = e.getHttpStatus();
    return s == 401
        || s == 403
        || (s == 404 && e.getServiceMessage().contains("models/"))
        || (s == 400 && e.getServiceMessage().toLowerCase().contains("api key"));
  }

  private void pause(int attempt, long floorMillis) throws InterruptedException {
    long cap = Math.min(
        settings.client.getMaxBackoff().toMillis(),
        settings.client.getInitialBackoff().toMillis() << Math.min(attempt - 1, 20));
    Thread.sleep(Math.max(floorMillis, ThreadLocalRandom.current().nextLong(cap + 1)));
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
