package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import io.geminibatch.testing.vertex.VertexFaults;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Create;
import org.joda.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * generate() on the Vertex AI backend, end to end against the emulator: its Vertex AI API for the
 * jobs, its Cloud Storage (through Beam's gs:// file system) for the staging location.
 */
class VertexGenerateTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(100)).seed(16).build();

  static final String BUCKET = "vertex-staging";
  GeminiEmulator emulator;
  String staging;

  @BeforeEach
  void setUp() {
    emulator = EMULATOR.emulator();
    emulator.vertex().setVertexFaults(VertexFaults.none());
    emulator.storage().ensureBucket(BUCKET);
    staging = "gs://" + BUCKET + "/run-" + UUID.randomUUID();
  }

  /** Beam's gs:// file system pointed at the emulator's Cloud Storage, without credentials. */
  static PipelineOptions gcsOptions(GeminiEmulator emulator) {
    return PipelineOptionsFactory.fromArgs(
            "--gcsEndpoint=" + emulator.baseUrl() + "/storage/v1/",
            "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory",
            "--project=test-project")
        .create();
  }

  static Pipeline direct(GeminiEmulator emulator) {
    PipelineOptions options = gcsOptions(emulator);
    options.setRunner(DirectRunner.class);
    return Pipeline.create(options);
  }

  /** generate() on the emulator's Vertex AI, with a test token and test-sized waits. */
  static GeminiBatchIO.Generate vertex(GeminiEmulator emulator, String staging) {
    return GeminiBatchIO.generate()
        .withModel("gemini-2.5-flash")
        .withVertexAi("test-project", "us-central1")
        .withGoogleCredentials(GoogleCredentials.create(new AccessToken("test-token", null)))
        .withBaseUrl(emulator.baseUrl())
        .withStagingLocation(staging)
        .withPollInterval(Duration.millis(20))
        .withRetryBackoff(java.time.Duration.ofMillis(5), java.time.Duration.ofMillis(50));
  }

  /** Keys that look like numbers ("000123"): Vertex AI has echoed such strings as numbers. */
  static HashMap<String, String> numericKeyedPrompts(int n) {
    HashMap<String, String> prompts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      prompts.put(String.format("%06d", i), "Prompt " + i + ": why is the sea salty? " + "y".repeat(i % 40));
    }
    return prompts;
  }

  static List<GenerateRequest> requests(HashMap<String, String> prompts) {
    List<GenerateRequest> list = new ArrayList<>();
    prompts.forEach((k, v) -> list.add(GenerateRequest.ofPrompt(k, v)));
    return list;
  }

  private List<String> objectsLeft() {
    return emulator.storage().listObjects(BUCKET, staging.substring(("gs://" + BUCKET + "/").length())).stream()
        .map(o -> o.name())
        .toList();
  }

  @Test
  void numericLooking_duplicatedAndShuffledRowsComeBackOncePerKey() {
    HashMap<String, String> prompts = numericKeyedPrompts(600);
    emulator.vertex().setVertexFaults(new VertexFaults(0.3, true));
    int jobsBefore = emulator.vertex().jobsCreated();
    int rowsBefore = emulator.vertex().rowsWritten();
    Pipeline p = direct(emulator);
    GeminiBatchIO.GenerateResult result =
        p.apply(Create.of(requests(prompts))).apply(vertex(emulator, staging).withMaxRequestsPerJob(200));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 600));
    PAssert.that(result.getFailures()).empty();
    PipelineResult run = TestPipelines.run(p);

    long jobs = TestPipelines.counter(run, "jobsSubmitted");
    assertTrue(jobs >= 3, "600 requests at 200 a job need at least 3 jobs, got " + jobs);
    assertEquals(jobs, emulator.vertex().jobsCreated() - jobsBefore);
    assertTrue(emulator.vertex().rowsWritten() - rowsBefore > 600, "the duplicate-row fault wrote extra rows");
    assertEquals(600, TestPipelines.counter(run, "responses"));
    // Cleaned up: the jobs, their input and output objects, the staged shards and the ledger.
    assertEquals(List.of(), List.copyOf(emulator.vertex().jobStates().values()));
    assertEquals(List.of(), objectsLeft());
  }

  @Test
  void faultDrill_failedAndExpiredJobsAreResubmittedAndFailedRowsRetried() {
    HashMap<String, String> prompts = numericKeyedPrompts(200);
    emulator.setFaults(
        Faults.builder().jobFailureRate(0.25).jobExpiryRate(0.15).requestErrorRate(0.1).build());
    emulator.vertex().setVertexFaults(new VertexFaults(0.1, true));
    Pipeline p = direct(emulator);
    GeminiBatchIO.GenerateResult result =
        p.apply(Create.of(requests(prompts)))
            .apply(vertex(emulator, staging).withMaxRequestsPerJob(50).withMaxAttempts(6));
    PAssert.that(GenerateTest.allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    // Every fault here is retryable: what still fails has had all six attempts. (How many do is
    // chance: roughly 1% of the requests by the fault rates, in blocks, as a job fails with all
    // its requests.)
    PAssert.that(result.getFailures())
        .satisfies(failures -> {
          for (GenerateFailure f : failures) {
            if (f.getAttempts() != 6 || !new io.geminibatch.connector.client.ApiStatus(f.getErrorCode(), "").isRetryable()) {
              throw new AssertionError("failed before its sixth attempt, or for good: " + f);
            }
          }
          return null;
        });
    PipelineResult run = TestPipelines.run(p);

    assertTrue(TestPipelines.counter(run, "jobsResubmitted") > 0, "failed or expired jobs were resubmitted");
    assertTrue(TestPipelines.counter(run, "requestsRetried") > 0, "failed rows were retried");
    long responses = TestPipelines.counter(run, "responses");
    long failures = TestPipelines.counter(run, "failures");
    assertEquals(200, responses + failures);
    assertTrue(responses >= 150, "six attempts leave most requests answered, got " + responses + " responses");
  }

  @Test
  void embeddedFlinkRunsTheSameJobs() {
    HashMap<String, String> prompts = numericKeyedPrompts(120);
    emulator.vertex().setVertexFaults(new VertexFaults(0.2, true));
    org.apache.beam.runners.flink.FlinkPipelineOptions options =
        gcsOptions(emulator).as(org.apache.beam.runners.flink.FlinkPipelineOptions.class);
    options.setRunner(org.apache.beam.runners.flink.FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    Pipeline p = Pipeline.create(options);
    GeminiBatchIO.GenerateResult result =
        p.apply(Create.of(requests(prompts))).apply(vertex(emulator, staging).withMaxRequestsPerJob(50));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 120));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    assertEquals(List.of(), objectsLeft());
  }

  @Test
  void vertexNeedsAGsStagingLocationAndRefusesEmbed() {
    Pipeline p = direct(emulator);
    IllegalArgumentException local =
        assertThrows(
            IllegalArgumentException.class,
            () -> p.apply(Create.of(requests(numericKeyedPrompts(1))))
                .apply(vertex(emulator, "/tmp/local-staging")));
    assertTrue(local.getMessage().contains("must be a gs:// path"), local.getMessage());
    UnsupportedOperationException embed =
        assertThrows(UnsupportedOperationException.class,
            () -> GeminiBatchIO.embed().withVertexAi("test-project", "us-central1"));
    assertTrue(embed.getMessage().contains("embed()"), embed.getMessage());
    IllegalArgumentException badProject =
        assertThrows(IllegalArgumentException.class, () -> GeminiBatchIO.generate().withVertexAi("Bad Project", "us-central1"));
    assertTrue(badProject.getMessage().contains("'Bad Project'"), badProject.getMessage());
  }
}
