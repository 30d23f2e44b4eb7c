package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.geminibatch.connector.client.BatchKind;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiBatchClients;
import io.geminibatch.testing.EmulatorStats;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** One shard, one job: the submit step run again on the same shard creates nothing new. */
class SubmitIdempotenceTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofSeconds(30)).build();

  @TempDir Path staging;

  private ShardRef stageShard(String name, boolean inline) throws Exception {
    Path file = staging.resolve(name + ".jsonl");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      sb.append("{\"key\":\"k").append(i).append("\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"")
          .append(name).append(i).append("\"}]}]}}\n");
    }
    Files.writeString(file, sb.toString());
    String id = (name + "00000000000000000000000000000000").substring(0, 32);
    return new ShardRef(id, file.toString(), 50, Files.size(file), 1, inline);
  }

  private BatchSettings settings(GeminiEmulator emulator) {
    return TestPipelines.generate(emulator, staging).settings(TestPipelines.direct(), "GENERATE");
  }

  /** Runs the submit stage alone on {@code shards}, as a retried bundle would, and checks the job. */
  private void submit(GeminiEmulator emulator, String expectedJob, ShardRef... shards) {
    Pipeline p = TestPipelines.direct();
    PCollection<String> jobs =
        p.apply(Create.of(java.util.Arrays.asList(shards)).withCoder(ShardRef.ShardRefCoder.INSTANCE))
            .apply(
                ParDo.of(new SubmitFn<>(settings(emulator), new GenerateKind(null, null), BatchCore.FAILURES))
                    .withOutputTags(SubmitFn.SUBMITTED, TupleTagList.of(BatchCore.FAILURES)))
            .get(SubmitFn.SUBMITTED)
            .setCoder(SubmittedJob.SubmittedJobCoder.INSTANCE)
            .apply(MapElements.into(TypeDescriptors.strings()).via(j -> j.jobName));
    if (expectedJob != null) {
      PAssert.that(jobs).containsInAnyOrder(expectedJob);
    }
    TestPipelines.run(p);
  }

  @Test
  void retriedSubmitBundleCreatesOneJob() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    ShardRef file = stageShard("viafile", false);
    ShardRef inline = stageShard("viainline", true);
    submit(emulator, null, file, inline);
    EmulatorStats first = emulator.stats();
    assertEquals(2, first.batchesCreated());
    // The same bundle again (a retry, on another worker), twice.
    submit(emulator, null, file, inline);
    submit(emulator, null, inline, file);
    EmulatorStats stats = emulator.stats();
    assertEquals(2, stats.batchesCreated());
    stats.createsByDisplayName().forEach((name, n) -> assertEquals(1L, n.longValue(), name));
    assertEquals(1L, stats.callsByEndpoint().getOrDefault("files.upload.start", 0L));
  }

  @Test
  void aWorkerThatDiedAfterItsCreateIsFollowedByALookUpNotASecondJob() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    BatchSettings settings = settings(emulator);
    ShardRef shard = stageShard("died", true);
    // What the dead worker left: the ledger's intent, and a job on the service.
    new JobLedger(settings).recordIntent(shard);
    GeminiBatchClient client = GeminiBatchClients.forConfig(settings.client);
    String jobName =
        client.createInlineBatch(BatchKind.GENERATE, settings.model, settings.displayName(shard), JobSubmitter.inlineRequests(shard))
            .getName();
    submit(emulator, jobName, shard);
    assertEquals(1, emulator.stats().batchesCreated());
  }
}
