package io.geminibatch.connector;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
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
 * Submitting waits for the service's quota through the runner ({@link SubmitFn} resumes later
 * after a 429, up to {@code maxQueueWait}), as awaiting waits for the job ({@link AwaitJobFn}).
 */
final class BatchCore<OutT> extends PTransform<PCollection<KV<Integer, Iterable<Pack>>>, PCollectionTuple> {
  static final TupleTag<GenerateFailure> FAILURES = new TupleTag<GenerateFailure>() {};

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<OutT> responses;
  private final Duration maxBufferingDuration;
  private final boolean bounded;
  /** Submit only: the first round ends once its jobs are created and recorded. */
  private final boolean detached;

  BatchCore(
      BatchSettings settings,
      KindSupport<OutT> kind,
      TupleTag<OutT> responses,
      Duration maxBufferingDuration,
      boolean bounded,
      boolean detached) {
    this.settings = settings;
    this.kind = kind;
    this.responses = responses;
    this.maxBufferingDuration = maxBufferingDuration;
    this.bounded = bounded;
    this.detached = detached;
  }

  /** Packs a bounded input (see {@link PackFn}) and groups the packs into shards ({@link ShardPacks}). */
  static <T> PCollection<KV<Integer, Iterable<Pack>>> packAndShard(
      PCollection<T> input, RequestSource<T> source, String packStep, int attempt, BatchSettings settings) {
    String round = roundName(attempt);
    return input
        .apply(packStep + round, ParDo.of(new PackFn<>(source, PackSpill.dir(settings, attempt))))
        .setCoder(Pack.PackCoder.INSTANCE)
        .apply("Shard" + round, new ShardPacks(settings));
  }

  @Override
  public PCollectionTuple expand(PCollection<KV<Integer, Iterable<Pack>>> firstRound) {
    List<PCollection<ResponseBatch<OutT>>> allResponses = new ArrayList<>();
    TupleTag<ResponseBatch<OutT>> batches = new TupleTag<ResponseBatch<OutT>>() {};
    ResponseBatch.BatchCoder<OutT> batchCoder = new ResponseBatch.BatchCoder<>(kind.outputCoder());
    List<PCollection<GenerateFailure>> allFailures = new ArrayList<>();
    List<PCollection<CompletedJob>> allCompleted = new ArrayList<>();
    List<PCollection<ShardRef>> retriesStaged = new ArrayList<>();
    PCollection<KeyedRequest> requests = null;
    PCollection<ShardRef> retriedShards = null;
    for (int attempt = 1; attempt <= settings.maxAttempts; attempt++) {
      String round = roundName(attempt);
      PCollection<KV<Integer, Iterable<Pack>>> groups = attempt == 1 ? firstRound : regroup(requests, attempt);
      PCollectionTuple staged =
          groups
              .apply(
                  "Stage" + round,
                  ParDo.of(new StageFn(settings, FAILURES))
                      .withOutputTags(StageFn.SHARDS, TupleTagList.of(FAILURES)));
      allFailures.add(staged.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
      PCollection<ShardRef> shards = staged.get(StageFn.SHARDS).setCoder(ShardRef.ShardRefCoder.INSTANCE);
      if (bounded && !settings.keepArtifacts) {
        if (attempt == 1) {
          // Once the whole round is staged, its spilled packs have been read for the last time.
          deleteSpillOnceStaged(shards, "", List.of(PackSpill.dir(settings, 1)));
        } else {
          retriesStaged.add(shards); // one step for all retry rounds, after the loop
        }
      }
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
      PCollection<SubmittedJob> kept =
          submitted
              .get(SubmitFn.SUBMITTED)
              .setCoder(SubmittedJob.SubmittedJobCoder.INSTANCE)
              // Makes the submitted jobs durable: a later failure never resubmits.
              .apply("KeepSubmitted" + round, Reshuffle.viaRandomKey());
      if (detached) {
        // The ledger holds every job: a later run without detach waits for them and reads them.
        break;
      }
      PCollectionTuple awaited =
          kept
              .apply(
                  "AwaitAndRead" + round,
                  ParDo.of(new AwaitJobFn<>(settings, kind, batches))
                      .withOutputTags(batches, TupleTagList.of(AwaitJobFn.EVENTS)));
      allResponses.add(awaited.get(batches).setCoder(batchCoder));
      PCollectionTuple events =
          awaited
              .get(AwaitJobFn.EVENTS)
              .setCoder(JobEvent.JobEventCoder.INSTANCE)
              .apply(
                  "JobEvents" + round,
                  ParDo.of(new JobEvent.SplitFn(FAILURES))
                      .withOutputTags(
                          FAILURES,
                          TupleTagList.of(JobEvent.SplitFn.RETRY_SHARDS)
                              .and(JobEvent.SplitFn.RETRY_REQUESTS)
                              .and(JobEvent.SplitFn.COMPLETED_JOBS)));
      allFailures.add(events.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
      PCollection<CompletedJob> completed =
          events.get(JobEvent.SplitFn.COMPLETED_JOBS).setCoder(CompletedJob.CompletedJobCoder.INSTANCE);
      allCompleted.add(completed);
      requests = events.get(JobEvent.SplitFn.RETRY_REQUESTS).setCoder(KeyedRequest.KeyedRequestCoder.INSTANCE);
      retriedShards = events.get(JobEvent.SplitFn.RETRY_SHARDS).setCoder(ShardRef.ShardRefCoder.INSTANCE);
    }
    if (!settings.keepArtifacts && !allCompleted.isEmpty()) {
      // One clean-up for every round: each step of a round costs its tasks on a batch runner
      // even when the round has nothing to do (see the class comment).
      (allCompleted.size() == 1
              ? allCompleted.get(0)
              : PCollectionList.of(allCompleted).apply("AllCompleted", Flatten.pCollections()))
          // Cleanup runs only once the results it follows are committed.
          .apply("CommitResults", Reshuffle.viaRandomKey())
          .apply("CleanUp", ParDo.of(new CleanupFn(settings)));
    }
    if (!retriesStaged.isEmpty()) {
      List<String> dirs = new ArrayList<>();
      for (int attempt = 2; attempt < 2 + retriesStaged.size(); attempt++) {
        dirs.add(PackSpill.dir(settings, attempt));
      }
      deleteSpillOnceStaged(
          PCollectionList.of(retriesStaged).apply("RetriesStaged", Flatten.pCollections()), " (retries)", dirs);
    }
    // Empty when detached: the list starts from the pipeline so that Flatten has it.
    PCollection<OutT> outputs =
        PCollectionList.<ResponseBatch<OutT>>empty(firstRound.getPipeline())
            .and(allResponses)
            .apply("AllResponses", Flatten.pCollections())
            .setCoder(batchCoder)
            .apply("Responses", ParDo.of(new ResponseBatch.ExplodeFn<OutT>()));
    PCollection<GenerateFailure> failures =
        PCollectionList.of(allFailures).apply("AllFailures", Flatten.pCollections());
    return PCollectionTuple.of(responses, outputs.setCoder(kind.outputCoder()))
        .and(FAILURES, failures.setCoder(GenerateFailure.FailureCoder.of()));
  }

  /**
   * The requests a round sends back, grouped into the next round's shards: packed and measured
   * for a bounded input, batched by count, bytes and time for an unbounded one.
   */
  private PCollection<KV<Integer, Iterable<Pack>>> regroup(PCollection<KeyedRequest> requests, int attempt) {
    if (!bounded) {
      return requests.apply("Shard" + roundName(attempt), new ShardRequests(settings, maxBufferingDuration));
    }
    return packAndShard(requests, RequestSource.validated(), "Pack", attempt, settings);
  }

  /** Deletes the packs spilled to {@code dirs} once all of {@code staged} is there. */
  private static void deleteSpillOnceStaged(PCollection<ShardRef> staged, String suffix, List<String> dirs) {
    staged
        .apply("Staged" + suffix, Window.<ShardRef>into(new GlobalWindows()))
        .apply("CountStaged" + suffix, Combine.globally(Count.<ShardRef>combineFn()).withoutDefaults())
        .apply("DeleteSpilledPacks" + suffix, ParDo.of(new DeleteSpillFn(dirs)));
  }

  /** Deletes rounds' spilled packs (see {@link PackSpill}). */
  static final class DeleteSpillFn extends DoFn<Long, Void> {
    private final List<String> dirs;

    DeleteSpillFn(List<String> dirs) {
      this.dirs = new ArrayList<>(dirs);
    }

    @ProcessElement
    public void process() throws java.io.IOException {
      for (String dir : dirs) {
        Staging.deleteMatching(dir + "*");
      }
    }
  }

  static String roundName(int attempt) {
    return attempt == 1 ? "" : " (attempt " + attempt + ")";
  }
}
