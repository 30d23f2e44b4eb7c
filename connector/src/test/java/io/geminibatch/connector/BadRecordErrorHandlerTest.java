package io.geminibatch.connector;

import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.HashMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Distinct;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler.BadRecordErrorHandler;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** withBadRecordErrorHandler: every failure also reaches Beam's error handler as a BadRecord. */
class BadRecordErrorHandlerTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(50)).seed(5).build();

  @TempDir Path staging;

  /** Counts what the handler receives, and checks each record says why it failed. */
  static final class CountBadRecords extends PTransform<PCollection<BadRecord>, PCollection<Long>> {
    @Override
    public PCollection<Long> expand(PCollection<BadRecord> records) {
      PAssert.that(records)
          .satisfies(all -> {
            for (BadRecord r : all) {
              String why = r.getFailure().getDescription();
              if (!(why.startsWith("VALIDATE: ") || why.startsWith("RESULT: "))
                  || r.getRecord().getHumanReadableJsonRecord() == null) {
                throw new AssertionError("bad record without its reason: " + r);
              }
            }
            return null;
          });
      return records.apply(Count.globally());
    }
  }

  @Test
  void everyFailureAlsoReachesTheErrorHandler() {
    GeminiEmulator emulator = EMULATOR.emulator();
    emulator.setFaults(Faults.builder().requestErrorRate(0.25).build());
    HashMap<String, String> prompts = GenerateTest.prompts(400);
    Pipeline p = TestPipelines.direct();
    BadRecordErrorHandler<PCollection<Long>> handler = p.registerBadRecordErrorHandler(new CountBadRecords());
    List<GenerateRequest> input = new ArrayList<>();
    prompts.forEach((k, v) -> input.add(GenerateRequest.ofPrompt(k, v)));
    input.add(GenerateRequest.of("bad", "not json"));
    PCollection<GenerateRequest> requests = p.apply(Create.of(input));
    GeminiBatchIO.GenerateResult result =
        requests.apply(TestPipelines.generate(emulator, staging).withMaxAttempts(1).withMaxRequestsPerJob(100).withBadRecordErrorHandler(handler));
    handler.close();
    PCollection<Long> failures = result.getFailures().apply("CountFailures", Count.globally());
    // Same count on both sides, and more than the one bad input.
    PAssert.thatSingleton(handler.getOutput()).satisfies(n -> {
      if (n < 50) {
        throw new AssertionError("expected about 100 failures through the handler, got " + n);
      }
      return null;
    });
    PAssert.that(PCollectionList.of(failures).and(handler.getOutput()).apply(Flatten.pCollections()).apply(Distinct.create()))
        .satisfies(distinct -> {
          int n = 0;
          for (Long ignored : distinct) {
            n++;
          }
          if (n != 1) {
            throw new AssertionError("getFailures() and the handler disagree: " + distinct);
          }
          return null;
        });
    TestPipelines.run(p);
  }
}
