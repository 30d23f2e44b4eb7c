package io.geminibatch.connector;

import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiBatchClients;
import java.io.IOException;
import org.apache.beam.sdk.transforms.DoFn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stage 7, clean up: once a job's outputs are committed downstream, deletes its result file, the
 * job, its uploaded input and staged shard (unless the shard is being retried) and its ledger
 * entry. Deleting is best effort: what fails here costs storage, never a result.
 *
 * <p>Its input is stable ({@code @RequiresStableInput}): on a streaming runner a shuffle commits
 * nothing (Flink restores every step from its last completed checkpoint, which may predate the
 * read), so a job is deleted only once a checkpoint holding its read and the responses it sent
 * downstream has completed. Cleaned up earlier, a job read again after a restore is gone, and its
 * shard is retried from a staged file that was deleted too.
 */
final class CleanupFn extends DoFn<CompletedJob, Void> {
  private static final Logger LOG = LoggerFactory.getLogger(CleanupFn.class);
  private final BatchSettings settings;
  private transient GeminiBatchClient client;
  private transient JobLedger ledger;

  CleanupFn(BatchSettings settings) {
    this.settings = settings;
  }

  /** On Flink, before the operator declares its stable-input state (see {@link FlinkStableInput}). */
  private void readObject(java.io.ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    FlinkStableInput.registerIfOnFlink();
  }

  @Setup
  public void setup() {
    client = GeminiBatchClients.forConfig(settings.client);
    ledger = new JobLedger(settings);
  }

  @RequiresStableInput
  @ProcessElement
  public void process(@Element CompletedJob done) {
    SubmittedJob job = done.job;
    try {
      if (done.responsesFile != null) {
        client.deleteFile(done.responsesFile);
      }
      client.deleteBatch(job.jobName);
      if (!done.shardRetried) {
        if (job.inputFileName != null) {
          client.deleteFile(job.inputFileName);
        }
        Staging.delete(job.shard.stagedPath);
      }
      ledger.forget(job.shard);
    } catch (IOException e) {
      LOG.warn("Could not clean up after {}: {}", job.jobName, e.getMessage());
    }
  }
}
