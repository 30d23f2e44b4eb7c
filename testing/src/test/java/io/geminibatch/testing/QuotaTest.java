package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The quota: creates over a limit are refused as the live service refuses them, creating nothing. */
class QuotaTest {
  private static final String CREATE = "/v1beta/models/gemini-2.5-flash:batchGenerateContent";

  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder().jobLatency(Duration.ofHours(1)).seed(3).build();

  private static Http http() {
    return new Http(EMU.emulator().baseUrl());
  }

  /** The live body: 429 RESOURCE_EXHAUSTED, the quota message, Help and QuotaFailure details. */
  private static void assertQuotaRefusal(Http.Reply r, String metric, long limit) {
    JsonNode e = r.error(429, "RESOURCE_EXHAUSTED");
    String message = e.get("message").asText();
    assertTrue(message.startsWith(
        "You exceeded your current quota, please check your plan and billing details. For more information on this"
            + " error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage,"
            + " head to: https://ai.dev/rate-limit. "), message);
    JsonNode details = e.get("details");
    assertEquals("type.googleapis.com/google.rpc.Help", details.get(0).get("@type").asText());
    assertEquals("https://ai.google.dev/gemini-api/docs/rate-limits", details.get(0).get("links").get(0).get("url").asText());
    if (metric != null) {
      assertTrue(message.contains("* Quota exceeded for metric: " + metric + ", limit: " + limit), message);
      JsonNode v = details.get(1).get("violations").get(0);
      assertEquals("type.googleapis.com/google.rpc.QuotaFailure", details.get(1).get("@type").asText());
      assertEquals(metric, v.get("quotaMetric").asText());
      assertEquals(Long.toString(limit), v.get("quotaValue").asText());
    } else {
      assertEquals(1, details.size());
    }
  }

  /** Jobs last an hour here: each test starts with none active. */
  @org.junit.jupiter.api.BeforeEach
  void deleteJobs() {
    EMU.emulator().setQuota(Quota.none());
    Http http = http();
    for (JsonNode b : http.get("/v1beta/batches?pageSize=1000").ok().json().path("operations")) {
      http.call("DELETE", "/v1beta/" + b.get("name").asText(), null).ok();
    }
    EMU.emulator().resetStats();
  }

  private static String line(String key) {
    return "{\"key\": \"" + key + "\", \"request\": " + Http.request("12345678") + "}\n";
  }

  @Test
  void activeJobsOverTheLimitAreRefusedUntilOneEnds() {
    EMU.emulator().setQuota(Quota.builder().maxActiveJobs(2).build());
    Http http = http();
    String first = http.createInline("q-1", "a").get("name").asText();
    http.createInline("q-2", "b");
    assertQuotaRefusal(http.post(CREATE, Http.inlineBody("q-3", "c")), "generativelanguage.googleapis.com/batch_concurrent_requests", 2);
    EmulatorStats s = EMU.emulator().stats();
    assertEquals(2, s.batchesCreated(), "a refused create creates nothing");
    assertEquals(0, s.creates("q-3"));
    assertEquals(1, s.quotaRefusals().get("activeJobs"));
    http.call("POST", "/v1beta/" + first + ":cancel", "{}").ok();
    http.createInline("q-3", "c");
    s = EMU.emulator().stats();
    assertEquals(2, s.peakActiveJobs());
    assertEquals(2, s.activeJobs());
    // the cancelled job's place was taken again
    assertQuotaRefusal(http.post(CREATE, Http.inlineBody("q-4", "d")), "generativelanguage.googleapis.com/batch_concurrent_requests", 2);
  }

  @Test
  void enqueuedTokensOverTheModelsLimitAreRefused() {
    // "echo" prompts of 8 code points: 2 tokens each, counted as promptTokenCount counts them.
    EMU.emulator().setQuota(Quota.builder().enqueuedTokenLimit(1000).enqueuedTokenLimit("gemini-2.5-flash", 9).build());
    Http http = http();
    JsonNode file = http.upload(line("k1") + line("k2"), "in");
    String job = http.createFromFile(file.get("name").asText(), "t-1").get("name").asText();
    http.createInline("t-2", "12345678", "12345678");
    Http.Reply refused = http.post(CREATE, Http.inlineBody("t-3", "12345678"));
    assertQuotaRefusal(refused, "generativelanguage.googleapis.com/batch_enqueued_tokens", 9);
    assertTrue(refused.json().get("error").get("message").asText().endsWith(", model: gemini-2.5-flash"));
    // another model has its own allowance
    http.post("/v1beta/models/gemini-2.5-pro:batchGenerateContent", Http.inlineBody("t-pro", "12345678")).ok();
    EmulatorStats s = EMU.emulator().stats();
    assertEquals(1, s.quotaRefusals().get("enqueuedTokens"));
    assertEquals(10, s.peakEnqueuedTokens());
    http.call("DELETE", "/v1beta/" + job, null).ok();
    http.createInline("t-3", "12345678");
    assertEquals(8, EMU.emulator().stats().enqueuedTokens());
  }

  @Test
  void spuriousRefusalsComeBelowEveryLimitAndAreSettableOverHttp() {
    Http http = http();
    http.post("/_emulator/faults", "{\"spuriousQuotaRefusalRate\": 1}").ok();
    assertQuotaRefusal(http.post(CREATE, Http.inlineBody("s-1", "x")), null, 0);
    EmulatorStats s = EMU.emulator().stats();
    assertEquals(0, s.batchesCreated());
    assertEquals(1, s.faults("spuriousQuotaRefusal"));
    assertEquals(1, s.quotaRefusals().get("spurious"));
    EMU.emulator().setFaults(Faults.builder().spuriousQuotaRefusalRate(0.5).build());
    int refused = 0;
    for (int i = 0; i < 40; i++) {
      refused += http.post(CREATE, Http.inlineBody("s-" + i, "x")).code == 429 ? 1 : 0;
    }
    assertTrue(refused > 5 && refused < 35, "about half refused: " + refused);
  }
}
