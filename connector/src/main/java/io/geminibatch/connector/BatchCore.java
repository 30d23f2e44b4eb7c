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

/**
 * The stages shared by {@code generate()} and {@code embed()}, from validated requests to
 * responses and failures: stage, submit, await and read, clean up, in one round however many
 * attempts are allowed. A shard's later attempts (its job failed or expired, or some of its
 * requests failed with a retryable error) are submitted and awaited by the await step, on the
 * same element ({@link AwaitJobFn}), so a run with nothing to retry runs no retry step: on a batch
 * runner every step of the graph costs its tasks and shuffles even when it has nothing to do.
 * Submitting waits for the service's quota through the runner ({@link SubmitFn} resumes later
 * after a 429, up to {@code maxQueueWait}), as awaiting waits for the job.
 */
final class BatchCore<OutT> extends PTransform<PCollection<KV<Integer, Iterable<Pack>>>, PCollectionTuple> {
  static final TupleTag<GenerateFailure> FAILURES = new TupleTag<GenerateFailure>() {};

  private final BatchSettings settings;
  private final KindSupport<OutT> kind;
  private final TupleTag<OutT> responses;
  private final boolean bounded;
  /** Submit only: the graph ends once the jobs are created and recorded. */
  private final boolean detached;

  BatchCore(
      BatchSettings settings,
      KindSupport<OutT> kind,
      TupleTag<OutT> responses,
      boolean bounded,
      boolean detached) {
    this.settings = settings;
    this.kind = kind;
    this.responses = responses;
    this.bounded = bounded;
    this.detached = detached;
  }

  /** Packs a bounded input (see {@link PackFn}) and groups the packs into shards ({@link ShardPacks}). */
  static <T> PCollection<KV<Integer, Iterable<Pack>>> packAndShard(
      PCollection<T> input, RequestSource<T> source, String packStep, BatchSettings settings) {
    return input
        .apply(packStep, ParDo.of(new PackFn<>(source, PackSpill.dir(settings, 1))))
        .setCoder(Pack.PackCoder.INSTANCE)
        .apply("Shard", new ShardPacks(settings));
  }

  @Override
  public PCollectionTuple expand(PCollection<KV<Integer, Iterable<Pack>>> groups) {
    TupleTag<ResponseBatch<OutT>> batches = new TupleTag<ResponseBatch<OutT>>() {};
    ResponseBatch.BatchCoder<OutT> batchCoder = new ResponseBatch.BatchCoder<>(kind.outputCoder());
    List<PCollection<GenerateFailure>> allFailures = new ArrayList<>();
    PCollectionTuple staged =
        groups.apply(
            "Stage",
            ParDo.of(new StageFn(settings, FAILURES)).withOutputTags(StageFn.SHARDS, TupleTagList.of(FAILURES)));
    allFailures.add(staged.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
    PCollection<ShardRef> shards = staged.get(StageFn.SHARDS).setCoder(ShardRef.ShardRefCoder.INSTANCE);
    if (bounded && !settings.keepArtifacts) {
      // Once every shard is staged, the spilled packs have been read for the last time.
      deleteSpillOnceStaged(shards, List.of(PackSpill.dir(settings, 1)));
    }
    PCollectionTuple submitted =
        shards.apply(
            "Submit",
            ParDo.of(new SubmitFn<>(settings, kind, FAILURES)).withOutputTags(SubmitFn.SUBMITTED, TupleTagList.of(FAILURES)));
    allFailures.add(submitted.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
    PCollection<SubmittedJob> kept =
        submitted
            .get(SubmitFn.SUBMITTED)
            .setCoder(SubmittedJob.SubmittedJobCoder.INSTANCE)
            // Makes the submitted jobs durable: a later failure never resubmits.
            .apply("KeepSubmitted", Reshuffle.viaRandomKey());
    List<PCollection<ResponseBatch<OutT>>> allResponses = new ArrayList<>();
    if (!detached) {
      // Awaits each job, reads it, and submits and awaits its retries (see AwaitJobFn).
      PCollectionTuple awaited =
          kept.apply(
              "AwaitAndRead",
              ParDo.of(new AwaitJobFn<>(settings, kind, batches)).withOutputTags(batches, TupleTagList.of(AwaitJobFn.EVENTS)));
      allResponses.add(awaited.get(batches).setCoder(batchCoder));
      PCollectionTuple events =
          awaited
              .get(AwaitJobFn.EVENTS)
              .setCoder(JobEvent.JobEventCoder.INSTANCE)
              .apply(
                  "JobEvents",
                  ParDo.of(new JobEvent.SplitFn(FAILURES)).withOutputTags(FAILURES, TupleTagList.of(JobEvent.SplitFn.COMPLETED_JOBS)));
      allFailures.add(events.get(FAILURES).setCoder(GenerateFailure.FailureCoder.of()));
      PCollection<CompletedJob> completed =
          events.get(JobEvent.SplitFn.COMPLETED_JOBS).setCoder(CompletedJob.CompletedJobCoder.INSTANCE);
      if (!settings.keepArtifacts) {
        completed
            // Cleanup runs only once the results it follows are committed.
            .apply("CommitResults", Reshuffle.viaRandomKey())
            .apply("CleanUp", ParDo.of(new CleanupFn(settings)));
      }
    }
    // Empty when detached: the list starts from the pipeline so that Flatten has it.
    PCollection<OutT> outputs =
        PCollectionList.<ResponseBatch<OutT>>empty(groups.getPipeline())
            .and(allResponses)
            .apply("AllResponses", Flatten.pCollections())
            .setCoder(batchCoder)
            .apply("Responses", ParDo.of(new ResponseBatch.ExplodeFn<OutT>()));
    PCollection<GenerateFailure> failures =
        PCollectionList.of(allFailures).apply("AllFailures", Flatten.pCollections());
    return PCollectionTuple.of(responses, outputs.setCoder(kind.outputCoder()))
        .and(FAILURES, failures.setCoder(GenerateFailure.FailureCoder.of()));
  }

  /** Deletes the packs spilled to {@code dirs} once all of {@code staged} is there. */
  private static void deleteSpillOnceStaged(PCollection<ShardRef> staged, List<String> dirs) {
    staged
        .apply("Staged", Window.<ShardRef>into(new GlobalWindows()))
        .apply("CountStaged", Combine.globally(Count.<ShardRef>combineFn()).withoutDefaults())
        .apply("DeleteSpilledPacks", ParDo.of(new DeleteSpillFn(dirs)));
  }

  /** Deletes spilled packs (see {@link PackSpill}). */
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

}
