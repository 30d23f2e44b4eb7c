package io.geminibatch.connector;

import java.io.IOException;

/**
 * The job ledger: small files in the staging location that make submission idempotent across
 * retried bundles and across runs. Before a create, an intent file; after it, a job file with the
 * job's name. A retry that finds the job file reattaches; one that finds only the intent looks
 * the job up by its display name before creating anything.
 */
final class JobLedger {
  private final BatchSettings settings;

  JobLedger(BatchSettings settings) {
    this.settings = settings;
  }

  private String base(ShardRef shard) {
    return settings.stagingDir + "jobs/" + shard.shardId + "-a" + shard.attempt;
  }

  /** What the ledger holds for an attempt: the job's name and its uploaded input, if any. */
  RecordedJob find(ShardRef shard) throws IOException {
    String text = Staging.readText(base(shard) + ".job");
    if (text == null || text.isBlank()) {
      return null;
    }
    return RecordedJob.parse(text);
  }

  void record(ShardRef shard, String jobName, String inputFileName) throws IOException {
    Staging.writeText(
        base(shard) + ".job", RecordedJob.format(jobName, inputFileName));
  }

  boolean hasIntent(ShardRef shard) throws IOException {
    return Staging.exists(base(shard) + ".intent");
  }

  void recordIntent(ShardRef shard) throws IOException {
    Staging.writeText(base(shard) + ".intent", settings.displayName(shard) + "\n");
  }

  /** Notes that the attempt waits for quota, and why (the command line's progress shows it). */
  void recordWaiting(ShardRef shard, String why) throws IOException {
    Staging.writeText(base(shard) + ".waiting", why.replace('\n', ' ') + "\n");
  }

  void clearWaiting(ShardRef shard) throws IOException {
    Staging.delete(base(shard) + ".waiting");
  }

  /** Removes the attempt's entries once its results are safely downstream. */
  void forget(ShardRef shard) throws IOException {
    Staging.delete(base(shard) + ".job", base(shard) + ".intent");
  }
}
