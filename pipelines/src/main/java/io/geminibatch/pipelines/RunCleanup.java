package io.geminibatch.pipelines;

import io.geminibatch.connector.RecordedJob;
import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.GeminiBatchClient;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * The command line's clean-up, done once a run's outputs are all written: it deletes every job
 * the run's ledger records (its result file, the job, its uploaded input), then the run's
 * staging directory (shards, spills, ledger).
 *
 * <p>Why not in the pipeline, job by job, as the connector does by default: a job cleaned up
 * there has its responses on disk but its entry gone from the ledger, and its failures are only
 * written when the whole run ends. A run stopped (Ctrl-C) after some jobs were collected would
 * then be rerun without those jobs in the ledger: their requests would be staged and paid for a
 * second time. The command line therefore runs the connector with {@code withKeepArtifacts(true)}
 * and cleans up here; a stopped run leaves every job recorded, and the rerun reads them again.
 */
final class RunCleanup {
  private static final int PARALLEL_DELETES = 8;

  private RunCleanup() {}

  /**
   * Deletes what {@code stagingDirectory}'s ledger records on the service, then the directory;
   * returns the number of jobs deleted. What cannot be deleted is reported on {@code err} and
   * costs storage only (the Files API deletes files after 48 hours).
   */
  static int cleanUp(String stagingDirectory, GeminiBatchClient client, PrintStream err) throws IOException {
    List<ResourceId> entries = StagingLocations.match(stagingDirectory + "jobs/*.job");
    AtomicInteger deleted = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(PARALLEL_DELETES, entries.size())));
    try {
      List<Future<?>> pending = new ArrayList<>();
      for (ResourceId entry : entries) {
        pending.add(pool.submit(() -> {
          try {
            RecordedJob recorded = RecordedJob.read(entry);
            if (recorded.jobName() != null) {
              Optional<BatchJob> job = client.getBatch(recorded.jobName());
              if (job.isPresent() && job.get().getResponsesFile() != null) {
                client.deleteFile(job.get().getResponsesFile());
              }
              client.deleteBatch(recorded.jobName());
            }
            if (recorded.inputFileName() != null) {
              client.deleteFile(recorded.inputFileName());
            }
            deleted.incrementAndGet();
          } catch (IOException | RuntimeException e) {
            failed.incrementAndGet();
            err.println("gemini-batch: could not clean up after " + entry.getFilename() + ": " + Errors.describe(e));
          }
          return null;
        }));
      }
      for (Future<?> f : pending) {
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while cleaning up", e);
        } catch (java.util.concurrent.ExecutionException e) {
          throw new IOException(e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
    if (failed.get() == 0) {
      // Everything the ledger named is gone: the shards, spills and ledger follow.
      java.nio.file.Path local = StagingLocations.localPath(stagingDirectory);
      if (local != null) {
        BatchCommand.deleteTree(local);
      } else {
        FileSystems.delete(StagingLocations.match(stagingDirectory + "**"), MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
      }
    }
    return deleted.get();
  }
}
