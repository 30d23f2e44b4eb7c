package io.geminibatch.connector;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The optional pacing of {@code withMaxConcurrentJobs} and {@code withMaxEnqueuedTokens}: the jobs
 * of one transform that are active (submitted and not yet seen terminal) and their estimated
 * prompt tokens, so that the submit step does not ask the service for more than it allows.
 *
 * <p>Counted per transform in each worker JVM (one per pipeline on the Direct runner and an
 * embedded Flink cluster; per worker on a distributed runner, where the limits are per worker).
 * Shards waiting for a place get it in the order of their ids, the first ones first, so that a
 * rerun submits the same shards first and reattaches to their jobs.
 */
final class SubmitPacer {
  /** Pacers by the transform's expansion id. */
  private static final Map<String, SubmitPacer> PACERS = new ConcurrentHashMap<>();

  private final int maxJobs;
  private final long maxTokens;
  /** Job name, or a shard's key while its create is under way → its estimated tokens. */
  private final Map<String, Long> active = new HashMap<>();
  private long tokens;
  private long lastCheckMillis;
  /** Shards waiting for a place, by key (id and attempt): the smallest go first. */
  private final TreeSet<String> waiting = new TreeSet<>();

  private SubmitPacer(int maxJobs, long maxTokens) {
    this.maxJobs = maxJobs;
    this.maxTokens = maxTokens;
  }

  /** The transform's pacer, or null when it paces nothing. */
  static SubmitPacer of(BatchSettings settings) {
    QueueSettings q = settings.queue;
    if (q.maxConcurrentJobs == 0 && q.maxEnqueuedTokens == 0) {
      return null;
    }
    return PACERS.computeIfAbsent(
        settings.expansionId, k -> new SubmitPacer(q.maxConcurrentJobs, q.maxEnqueuedTokens));
  }

  /** Estimated prompt tokens of a shard: a token per 4 bytes of its JSONL (JSON syntax included). */
  static long estimateTokens(ShardRef shard) {
    return Math.max(1, (shard.byteSize + 3) / 4);
  }

  static String key(ShardRef shard) {
    return shard.shardId + "-a" + shard.attempt;
  }

  /**
   * Takes a place for the shard's create, or returns why not (and queues the shard). A shard
   * larger than the token limit goes alone.
   */
  synchronized String tryAcquire(ShardRef shard) {
    String key = key(shard);
    long need = estimateTokens(shard);
    int free = maxJobs == 0 ? Integer.MAX_VALUE : maxJobs - active.size();
    boolean tokensFit = maxTokens == 0 || active.isEmpty() || tokens + need <= maxTokens;
    // Only the first `free` waiting shards may take the free places.
    int ahead = waiting.headSet(key).size();
    if (free > 0 && tokensFit && ahead < free) {
      waiting.remove(key);
      active.put(key, need);
      tokens += need;
      return null;
    }
    waiting.add(key);
    if (free <= 0) {
      return "paced: " + active.size() + " of at most " + maxJobs + " jobs active (withMaxConcurrentJobs)";
    }
    if (!tokensFit) {
      return "paced: about " + tokens + " tokens enqueued, " + need + " more would pass " + maxTokens
          + " (withMaxEnqueuedTokens)";
    }
    return "paced: " + ahead + " shards ahead of it wait for a job slot";
  }

  /** The shard's create succeeded as {@code jobName}: the place is the job's until it ends. */
  synchronized void submitted(ShardRef shard, String jobName) {
    waiting.remove(key(shard)); // it may have gone past the pacing after withMaxQueueWait
    Long t = active.remove(key(shard));
    long need = t != null ? t : estimateTokens(shard);
    if (t == null) {
      tokens += need;
    }
    active.put(jobName, need);
  }

  /** A job found again (ledger or look-up) holds a place without asking: it is active already. */
  synchronized void reattached(ShardRef shard, String jobName) {
    waiting.remove(key(shard));
    release(key(shard));
    if (!active.containsKey(jobName)) {
      long need = estimateTokens(shard);
      active.put(jobName, need);
      tokens += need;
    }
  }

  /** The shard's create was refused or failed, or the shard is done waiting: its place is free. */
  synchronized void released(ShardRef shard) {
    waiting.remove(key(shard));
    release(key(shard));
  }

  /** The job is terminal (or gone): its place is free. Idempotent. */
  synchronized void finished(String jobName) {
    release(jobName);
  }

  private void release(String name) {
    Long t = active.remove(name);
    if (t != null) {
      tokens -= t;
    }
  }

  /**
   * The active jobs to look at once per {@code intervalMillis} (else none): the await step
   * releases a job's place when it sees the job end, but on runners that run the await step only
   * after every shard is submitted (Flink's batch mode), the submit step must see it itself.
   */
  synchronized java.util.List<String> jobsToCheck(long intervalMillis) {
    long now = System.currentTimeMillis();
    if (now - lastCheckMillis < intervalMillis) {
      return java.util.List.of();
    }
    lastCheckMillis = now;
    java.util.List<String> jobs = new java.util.ArrayList<>();
    for (String name : active.keySet()) {
      if (name.startsWith("batches/")) {
        jobs.add(name);
      }
    }
    return jobs;
  }

  /** For the transform's jobs seen terminal by the await step. */
  static void jobFinished(BatchSettings settings, String jobName) {
    SubmitPacer p = PACERS.get(settings.expansionId);
    if (p != null) {
      p.finished(jobName);
    }
  }
}
