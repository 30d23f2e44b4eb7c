package io.geminibatch.connector;

import java.io.Serializable;
import org.joda.time.Duration;

/**
 * How the submit step waits for the service's quota: for how long a shard may wait before its
 * requests become failures, and the optional pacing ({@link SubmitPacer}). 0 paces nothing.
 */
final class QueueSettings implements Serializable {
  private static final long serialVersionUID = 1L;
  /** As long as a job may live: the service expires jobs after 48 hours. */
  static final Duration DEFAULT_MAX_QUEUE_WAIT = Duration.standardHours(48);
  static final QueueSettings DEFAULT = new QueueSettings(DEFAULT_MAX_QUEUE_WAIT, 0, 0);

  final Duration maxQueueWait;
  final int maxConcurrentJobs;
  final long maxEnqueuedTokens;

  QueueSettings(Duration maxQueueWait, int maxConcurrentJobs, long maxEnqueuedTokens) {
    this.maxQueueWait = maxQueueWait;
    this.maxConcurrentJobs = maxConcurrentJobs;
    this.maxEnqueuedTokens = maxEnqueuedTokens;
  }
}
