package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import io.geminibatch.testing.gcs.GcsObject;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A {@code gs://} staging location (shards, spilled packs, the job ledger) on the emulator's
 * Cloud Storage, through Beam's GCS file system pointed at it with {@code --gcsEndpoint}.
 */
class CloudStorageStagingTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(100)).build();

  private static final Path UNUSED = Path.of("unused");

  @BeforeEach
  void bucket() {
    EMULATOR.emulator().storage().ensureBucket("stage-bkt");
  }

  /** The Direct runner with Beam's GCS file system on the emulator. */
  static Pipeline direct(GeminiEmulator emulator) {
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(
                "--gcsEndpoint=" + emulator.baseUrl() + "/storage/v1/",
                "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory",
                "--project=test-project")
            .create();
    options.setRunner(DirectRunner.class);
    FileSystems.setDefaultPipelineOptions(options);
    return Pipeline.create(options);
  }

  @Test
  void promptsComeBackWithAGsStagingLocation() {
    GeminiEmulator emulator = EMULATOR.emulator();
    HashMap<String, String> prompts = GenerateTest.prompts(300);
    Pipeline p = direct(emulator);
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(p, prompts)
            .apply(
                TestPipelines.generate(emulator, UNUSED)
                    .withStagingLocation("gs://stage-bkt/run1/")
                    .withMaxRequestsPerJob(150)
                    .withInlineThresholdBytes(0)
                    .withKeepArtifacts(true));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 300));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    List<String> staged =
        emulator.storage().listObjects("stage-bkt", "run1/").stream().map(GcsObject::name).toList();
    assertTrue(staged.stream().anyMatch(n -> n.endsWith(".job")), "the ledger is on gs://: " + staged);
    assertTrue(emulator.storage().calls("storage.batch") > 0, "Beam's batch endpoint was used");
  }

  @Test
  void aRunStoppedAfterSubmittingIsResumedFromGsStagingWithoutNewJobs() throws Exception {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setJobLatency(java.time.Duration.ofSeconds(4));
    HashMap<String, String> prompts = GenerateTest.prompts(900);
    String staging = "gs://stage-bkt/rerun/";

    Pipeline first = direct(emulator);
    first.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    GenerateTest.requests(first, prompts)
        .apply(
            TestPipelines.generate(emulator, UNUSED)
                .withStagingLocation(staging)
                .withMaxRequestsPerJob(300)
                .withPollInterval(org.joda.time.Duration.standardSeconds(60)));
    PipelineResult stopped = first.run();
    long shards =
        ShardRequests.shardCount(
            900, 0, TestPipelines.generate(emulator, UNUSED).withMaxRequestsPerJob(300).settings(first, "GENERATE"));
    long deadline = System.currentTimeMillis() + 60_000;
    while (emulator.stats().batchesCreated() < shards && System.currentTimeMillis() < deadline) {
      Thread.onSpinWait();
    }
    stopped.cancel();
    long created = emulator.stats().batchesCreated();
    assertEquals(shards, created, "the first run submitted all its jobs before it was stopped");
    assertFalse(emulator.storage().listObjects("stage-bkt", "rerun/").isEmpty());

    emulator.setJobLatency(java.time.Duration.ofMillis(100));
    Pipeline second = direct(emulator);
    GeminiBatchIO.GenerateResult result =
        GenerateTest.requests(second, prompts)
            .apply(TestPipelines.generate(emulator, UNUSED).withStagingLocation(staging).withMaxRequestsPerJob(300));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 900));
    PipelineResult run = TestPipelines.run(second);
    assertEquals(created, emulator.stats().batchesCreated(), "the second run paid for no shard again");
    assertEquals(created, TestPipelines.counter(run, "jobsReattached"));
  }
}
