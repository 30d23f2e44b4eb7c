package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.HashMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;
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
    Pipeline p = TestPipelines.direct();
    // A rate makes the sequence unbounded: prompts arrive over about two seconds, on the real clock.
    PCollection<GenerateRequest> stream =
        p.apply(GenerateSequence.from(0).to(500).withRate(250, Duration.standardSeconds(1)))
            .apply(
                MapElements.into(TypeDescriptor.of(GenerateRequest.class))
                    .via(i -> GenerateRequest.ofPrompt("k" + i, prompts.get("k" + i))));
    assertEquals(PCollection.IsBounded.UNBOUNDED, stream.isBounded());
    GeminiBatchIO.GenerateResult result =
        stream.apply(
            TestPipelines.generate(EMULATOR.emulator(), staging)
                .withMaxRequestsPerJob(120)
                .withMaxBufferingDuration(Duration.millis(500)));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 500));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    GenerateTest.assertOneCreatePerDisplayName(EMULATOR.emulator().stats());
  }
}
