package io.geminibatch.connector;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;

/**
 * The stages shared by {@code generate()} and {@code embed()}, from validated requests to
 * responses and failures. Attempts are unrolled into rounds: what round N sends back (failed or
 * expired jobs' shards, requests with retryable errors) is what round N+1 submits, and the last
 * round turns whatever still fails into failures. The graph is as long as {@code maxAttempts}.
 */
final class BatchCore<OutT> extends PTransform<PCollection<KeyedRequest>, PCollectionTuple> {
  static final TupleTag<GenerateFailure> FAILURES = new TupleTag<GenerateFailure>() {};

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<OutT> responses;
  private final Duration maxBufferingDuration;

  BatchCore(
      BatchSettings settings, KindSupport<OutT> kind, TupleTag<OutT> responses, Duration maxBufferingDuration) {
    this.settings = settings;
    this.kind = kind;
    this.responses = responses;
    this.maxBufferingDuration = maxBufferingDuration;
  }

  @Override
  public PCollectionTuple expand(PCollection<KeyedRequest> validated) {
    List<PCollection<OutT>> allResponses = new ArrayList<>();
    List<PCollection<GenerateFailure>> allFailures = new ArrayList<>();
    PCollection<KeyedRequest> requests = validated;
    PCollection<ShardRef> retriedShards = null;
    for (int attempt = 1; attempt <= settings.maxAttempts; attempt++) {
      String round = attempt == 1 ? "" : " (attempt " + attempt + ")";
      PCollectionTuple staged =
          requests
              .apply("Shard" + round, new ShardRequests(settings, maxBufferingDuration))
              .apply(
                  "Stage" + round,
                  ParDo.of(new StageFn(settings, FAILURES))
                      .withOutputTags(StageFn.SHARDS, TupleTagList.of(FAILURES)));
      allFailures.add(staged.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
      PCollection<ShardRef> shards = staged.get(StageFn.SHARDS).setCoder(ShardRef.ShardRefCoder.INSTANCE);
      if (retriedShards != null) {
        shards =
            PCollectionList.of(shards)
                .and(retriedShards)
                .apply("WithRetriedJobs" + round, Flatten.pCollections());
      }
      PCollectionTuple submitted =
          shards.apply(
              "Submit" + round,
              ParDo.of(new SubmitFn<>(settings, kind, FAILURES))
                  .withOutputTags(SubmitFn.SUBMITTED, TupleTagList.of(FAILURES)));
      allFailures.add(submitted.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
      PCollectionTuple awaited =
          submitted
              .get(SubmitFn.SUBMITTED)
              .setCoder(SubmittedJob.SubmittedJobCoder.INSTANCE)
              // Makes the submitted jobs durable: a later failure never resubmits.
              .apply("KeepSubmitted" + round, Reshuffle.viaRandomKey())
              .apply(
                  "AwaitAndRead" + round,
                  ParDo.of(new AwaitJobFn<>(settings, kind, responses, FAILURES))
                      .withOutputTags(
                          responses,
                          TupleTagList.of(FAILURES)
                              .and(AwaitJobFn.RETRY_SHARDS)
                              .and(AwaitJobFn.RETRY_REQUESTS)
                              .and(AwaitJobFn.COMPLETED)));
      allResponses.add(awaited.get(responses).setCoder(kind.outputCoder()));
      allFailures.add(awaited.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
      PCollection<CompletedJob> completed =
          awaited.get(AwaitJobFn.COMPLETED).setCoder(CompletedJob.CompletedJobCoder.INSTANCE);
      if (!settings.keepArtifacts) {
        completed
            // Cleanup runs only once the results it follows are committed.
            .apply("CommitResults" + round, Reshuffle.viaRandomKey())
            .apply("CleanUp" + round, ParDo.of(new CleanupFn(settings)));
      }
      requests = awaited.get(AwaitJobFn.RETRY_REQUESTS).setCoder(KeyedRequest.KeyedRequestCoder.INSTANCE);
      retriedShards = awaited.get(AwaitJobFn.RETRY_SHARDS).setCoder(ShardRef.ShardRefCoder.INSTANCE);
    }
    PCollection<OutT> outputs =
        PCollectionList.of(allResponses).apply("AllResponses", Flatten.pCollections());
    PCollection<GenerateFailure> failures =
        PCollectionList.of(allFailures).apply("AllFailures", Flatten.pCollections());
    return PCollectionTuple.of(responses, outputs.setCoder(kind.outputCoder()))
        .and(FAILURES, failures.setCoder(GenerateFailure.FailureCoder.of()));
  }
}
