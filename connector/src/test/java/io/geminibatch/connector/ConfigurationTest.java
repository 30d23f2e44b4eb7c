package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.beam.sdk.transforms.display.DisplayData;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

/** The public API's setters, display data and combination checks, as Beam's IO standards ask. */
class ConfigurationTest {

  private static void assertRejected(Runnable call, String... mustMention) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
    for (String m : mustMention) {
      assertTrue(e.getMessage().contains(m), "'" + e.getMessage() + "' should mention '" + m + "'");
    }
  }

  @Test
  void settersRejectBadValuesNamingTheParameterAndTheValue() {
    GeminiBatchIO.Generate g = GeminiBatchIO.generate();
    assertRejected(() -> g.withModel("Gemini Flash!"), "model", "Gemini Flash!");
    assertRejected(() -> g.withMaxRequestsPerJob(0), "maxRequestsPerJob", "0");
    assertRejected(() -> g.withMaxBytesPerJob(3_000_000_000L), "maxBytesPerJob", "3000000000");
    assertRejected(() -> g.withInlineThresholdBytes(25_000_000), "inlineThresholdBytes", "25000000");
    assertRejected(() -> g.withPollInterval(Duration.ZERO), "pollInterval", "PT0S");
    assertRejected(() -> g.withMaxAttempts(0), "maxAttempts", "0");
    assertRejected(() -> g.withBaseUrl("ftp://x"), "baseUrl", "ftp://x");
    assertRejected(() -> g.withApiKey(" "), "apiKey");
    assertRejected(() -> g.withGenerationConfig("[1]"), "generationConfig", "[1]");
    assertRejected(() -> g.withStagingLocation(""), "stagingLocation");
    assertRejected(() -> g.withMaxQueueWait(Duration.standardDays(31)), "maxQueueWait", "PT2678400S");
    assertRejected(() -> g.withMaxQueueWait(null), "maxQueueWait", "null");
    assertRejected(() -> g.withMaxConcurrentJobs(-1), "maxConcurrentJobs", "-1");
    assertRejected(() -> g.withMaxEnqueuedTokens(-5), "maxEnqueuedTokens", "-5");
    GeminiBatchIO.Embed e = GeminiBatchIO.embed();
    assertRejected(() -> e.withOutputDimensionality(5000), "outputDimensionality", "5000");
    assertRejected(() -> e.withTaskType("retrieval"), "taskType", "retrieval");
  }

  @Test
  void settersAreOrderIndependentAndImmutable() {
    GeminiBatchIO.Generate base = GeminiBatchIO.generate();
    GeminiBatchIO.Generate a = base.withModel("gemini-2.5-pro").withMaxRequestsPerJob(5);
    GeminiBatchIO.Generate b = base.withMaxRequestsPerJob(5).withModel("models/gemini-2.5-pro");
    assertEquals(a.config(), b.config());
    assertEquals("models/gemini-2.5-flash", base.config().model());
  }

  @Test
  void displayDataShowsTheSettingsButNeverTheKey() {
    String key = "AIza-secret-do-not-show-0123";
    GeminiBatchIO.Generate g =
        GeminiBatchIO.generate()
            .withApiKey(key)
            .withModel("gemini-2.5-pro")
            .withStagingLocation("/tmp/staging")
            .withSystemInstruction("Be brief.");
    DisplayData data = DisplayData.from(g);
    String all = data.items().toString();
    assertFalse(all.contains(key), all);
    assertTrue(all.contains("models/gemini-2.5-pro"), all);
    assertTrue(all.contains("/tmp/staging"), all);
    assertTrue(all.contains("redacted"), all);
    assertTrue(all.contains("maxQueueWait=172800000"), "the 48 h default: " + all);
    assertFalse(g.config().toString().contains(key));
  }

  @Test
  void expandRequiresAStagingLocationAndAKey() {
    org.apache.beam.sdk.Pipeline p = TestPipelines.direct();
    IllegalArgumentException noStaging =
        assertThrows(
            IllegalArgumentException.class,
            () -> GeminiBatchIO.generate().withApiKey("k").settings(p, "GENERATE"));
    assertTrue(noStaging.getMessage().contains("withStagingLocation"), noStaging.getMessage());
    IllegalArgumentException inline =
        assertThrows(
            IllegalArgumentException.class,
            () -> GeminiBatchIO.generate().withApiKey("k").withStagingLocation("/tmp/x")
                .withMaxBytesPerJob(2048).withInlineThresholdBytes(4096).settings(p, "GENERATE"));
    assertTrue(inline.getMessage().contains("inlineThresholdBytes (4096)"), inline.getMessage());
  }

}
