package io.geminibatch.connector;

import java.io.Serializable;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;

/** The connector's metrics, all in the {@code GeminiBatchIO} namespace. */
final class StageMetrics implements Serializable {
  private static final long serialVersionUID = 1L;
  static final String NAMESPACE = "GeminiBatchIO";

  final Counter requests = Metrics.counter(NAMESPACE, "requests");
  final Counter invalidRequests = Metrics.counter(NAMESPACE, "invalidRequests");
  final Counter shardsStaged = Metrics.counter(NAMESPACE, "shardsStaged");
  final Counter bytesStaged = Metrics.counter(NAMESPACE, "bytesStaged");
  final Counter packsSpilled = Metrics.counter(NAMESPACE, "packsSpilled");
  final Counter jobsSubmitted = Metrics.counter(NAMESPACE, "jobsSubmitted");
  final Counter jobsReattached = Metrics.counter(NAMESPACE, "jobsReattached");
  final Counter jobsSucceeded = Metrics.counter(NAMESPACE, "jobsSucceeded");
  final Counter jobsFailed = Metrics.counter(NAMESPACE, "jobsFailed");
  final Counter jobsExpired = Metrics.counter(NAMESPACE, "jobsExpired");
  final Counter jobsCancelled = Metrics.counter(NAMESPACE, "jobsCancelled");
  final Counter jobsResubmitted = Metrics.counter(NAMESPACE, "jobsResubmitted");
  final Counter requestsRetried = Metrics.counter(NAMESPACE, "requestsRetried");
  final Counter responses = Metrics.counter(NAMESPACE, "responses");
  final Counter failures = Metrics.counter(NAMESPACE, "failures");
  final Counter promptTokens = Metrics.counter(NAMESPACE, "promptTokens");
  final Counter candidatesTokens = Metrics.counter(NAMESPACE, "candidatesTokens");
  final Counter polls = Metrics.counter(NAMESPACE, "polls");
  /** Creates refused with 429 RESOURCE_EXHAUSTED (nothing was created). */
  final Counter quotaRefusals = Metrics.counter(NAMESPACE, "quotaRefusals");
  /** Shards waiting now for quota, pacing or a transient failure (up when one starts, down when done). */
  final Counter shardsWaiting = Metrics.counter(NAMESPACE, "shardsWaiting");
  /** Waits of the submit step, each a resume through the runner (never a sleeping thread). */
  final Counter waits = Metrics.counter(NAMESPACE, "submitWaits");
  // Time per stage, summed over workers; a stage's time leaves out what its outputs cost
  // downstream (runners that fuse steps call the next step from inside output()).
  final Counter stageMillis = Metrics.counter(NAMESPACE, "stageMillis");
  final Counter uploadMillis = Metrics.counter(NAMESPACE, "uploadMillis");
  final Counter serviceMillis = Metrics.counter(NAMESPACE, "serviceMillis");
  final Counter resultWaitMillis = Metrics.counter(NAMESPACE, "resultWaitMillis");
  final Counter readMillis = Metrics.counter(NAMESPACE, "readMillis");
}
