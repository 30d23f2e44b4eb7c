package io.geminibatch.connector;

import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestStream;
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
    TestStream.Builder<GenerateRequest> stream =
        TestStream.create(GenerateRequest.RequestCoder.of()).advanceWatermarkTo(new Instant(0));
    int i = 0;
    for (Map.Entry<String, String> e : prompts.entrySet()) {
      stream = stream.addElements(GenerateRequest.ofPrompt(e.getKey(), e.getValue()));
      if (++i % 100 == 0) {
        stream = stream.advanceProcessingTime(Duration.standardSeconds(5));
      }
    }
    Pipeline p = TestPipelines.direct();
    p.getOptions().as(DirectOptions.class).setBlockOnRun(true);
    GeminiBatchIO.GenerateResult result =
        p.apply(stream.advanceWatermarkToInfinity())
            .apply(
                TestPipelines.generate(EMULATOR.emulator(), staging)
                    .withMaxRequestsPerJob(120)
                    .withMaxBufferingDuration(Duration.standardSeconds(2)));
    PAssert.that(result.getResponses()).satisfies(Expect.echoes(prompts, 500));
    PAssert.that(result.getFailures()).empty();
    TestPipelines.run(p);
    GenerateTest.assertOneCreatePerDisplayName(EMULATOR.emulator().stats());
  }
}
