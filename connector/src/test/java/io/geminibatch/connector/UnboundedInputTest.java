package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.FlatMapElements;
import org.apache.beam.sdk.transforms.PeriodicImpulse;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** An unbounded input is batched by count, bytes and time, and every prompt still comes back. */
class UnboundedInputTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(100)).build();

  @TempDir Path staging;

  @Test
  void aStreamOfPromptsIsBatchedAndAnswered() {
    HashMap<String, String> prompts = GenerateTest.prompts(500);
    GeminiBatchIO.GenerateResult result = stream(prompts, 3);
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 500));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(result.getPipeline());
    GenerateTest.assertOneCreatePerDisplayName(EMULATOR.emulator().stats());
  }

  /**
   * Streaming, the retries are made by the await step too: failed jobs sent again, retryable
   * request errors sent in follow-up jobs, until the attempts run out; every key ends once.
   */
  @Test
  void aStreamsFailedJobsAndRequestsAreRetriedInTheSameStep() {
    EMULATOR.emulator().setFaults(Faults.builder().jobFailureRate(0.3).requestErrorRate(0.2).build());
    HashMap<String, String> prompts = GenerateTest.prompts(500);
    GeminiBatchIO.GenerateResult result = stream(prompts, 4);
    PAssert.that(GenerateTest.allKeys(result)).satisfies(Expect.eachKeyOnce(prompts.keySet()));
    PAssert.that(result.getFailures())
        .satisfies(failures -> {
          for (GenerateFailure f : failures) {
            if (f.getAttempts() != 4) {
              throw new AssertionError("failed before its last attempt: " + f);
            }
          }
          return null;
        });
    org.apache.beam.sdk.PipelineResult run = TestPipelines.run(result.getPipeline());
    GenerateTest.assertOneCreatePerDisplayName(EMULATOR.emulator().stats());
    org.junit.jupiter.api.Assertions.assertTrue(TestPipelines.counter(run, "jobsResubmitted") > 0, "nothing was retried");
    org.junit.jupiter.api.Assertions.assertTrue(TestPipelines.counter(run, "requestsRetried") > 0, "no request was retried");
  }

  private GeminiBatchIO.GenerateResult stream(HashMap<String, String> prompts, int maxAttempts) {
    Pipeline p = TestPipelines.direct();
    // Four impulses a quarter second apart, on the real clock, each bringing 125 prompts: an
    // unbounded input that ends, so the pipeline finishes once everything is answered.
    Instant start = Instant.now();
    PCollection<GenerateRequest> stream =
        p.apply(
                PeriodicImpulse.create()
                    .startAt(start)
                    .stopAt(start.plus(Duration.millis(900)))
                    .withInterval(Duration.millis(250)))
            .apply(
                FlatMapElements.into(TypeDescriptor.of(GenerateRequest.class))
                    .via(
                        (Instant t) -> {
                          int batch = (int) ((t.getMillis() - start.getMillis()) / 250);
                          List<GenerateRequest> out = new ArrayList<>();
                          for (int i = batch * 125; i < (batch + 1) * 125; i++) {
                            out.add(GenerateRequest.ofPrompt("k" + i, prompts.get("k" + i)));
                          }
                          return out;
                        }));
    assertEquals(PCollection.IsBounded.UNBOUNDED, stream.isBounded());
    return stream.apply(
        TestPipelines.generate(EMULATOR.emulator(), staging)
            .withMaxRequestsPerJob(120)
            .withMaxAttempts(maxAttempts)
            .withMaxBufferingDuration(Duration.millis(500)));
  }
}
