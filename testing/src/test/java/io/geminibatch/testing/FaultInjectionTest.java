package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One test per fault: each changes what a client sees, and a given seed and call sequence
 * reproduce it ({@link GeminiEmulator#setFaults} restarts the fault streams from the seed).
 */
class FaultInjectionTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder().jobLatency(Duration.ZERO).seed(7).build();

  private static GeminiEmulator emulator() {
    return EMU.emulator();
  }

  private static Http http() {
    return new Http(emulator().baseUrl());
  }

  /** Runs {@code scenario} twice, each time right after {@code setFaults(faults)}. */
  private static <T> T reproducibly(Faults faults, Supplier<T> scenario) {
    emulator().setFaults(faults);
    T first = scenario.get();
    emulator().setFaults(faults);
    T second = scenario.get();
    assertEquals(first, second, "same seed, same calls, same faults");
    return first;
  }

  private static List<Integer> listCodes(int calls) {
    Http http = http();
    List<Integer> codes = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      codes.add(http.get("/v1beta/batches").code);
    }
    return codes;
  }

  @Test
  void throttleAnswers429WithRetryAfter() {
    List<Integer> codes = reproducibly(Faults.builder().throttleRate(0.5).build(), () -> listCodes(20));
    assertTrue(codes.contains(429) && codes.contains(200), codes.toString());
    emulator().setFaults(Faults.builder().throttleRate(1).build());
    Http.Reply r = http().get("/v1beta/files");
    r.error(429, "RESOURCE_EXHAUSTED");
    assertEquals("1", r.header("retry-after"));
    long injected = codes.stream().filter(c -> c == 429).count() * 2 + 1;
    assertEquals(injected, emulator().stats().faults("throttle"));
  }

  @Test
  void unavailableAnswers503WithRetryAfter() {
    List<Integer> codes = reproducibly(Faults.builder().unavailableRate(0.5).build(), () -> listCodes(20));
    assertTrue(codes.contains(503) && codes.contains(200), codes.toString());
    emulator().setFaults(Faults.builder().unavailableRate(1).build());
    Http.Reply r =
        http().call(
            "POST", "/upload/v1beta/files", "{}",
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start");
    r.error(503, "UNAVAILABLE");
    assertEquals("1", r.header("retry-after"));
  }

  @Test
  void aThrottledChunkIsAnsweredAfterItsBodyAndCanBeResent() {
    Http http = http();
    byte[] chunk = new byte[8 * 1024 * 1024];
    String url = http.startUpload(chunk.length + 1, null);
    emulator().setFaults(Faults.builder().throttleRate(1).build());
    http.chunk(url, chunk, 0, false).error(429, "RESOURCE_EXHAUSTED");
    emulator().setFaults(Faults.none());
    assertEquals("0", http.send("POST", url, null, "X-Goog-Upload-Command", "query").ok().header("x-goog-upload-size-received"));
    assertEquals("active", http.chunk(url, chunk, 0, false).ok().header("x-goog-upload-status"));
    assertEquals("final", http.chunk(url, new byte[1], chunk.length, true).ok().header("x-goog-upload-status"));
  }

  @Test
  void aThrottledCreateCreatesNothingAndCountsNothing() {
    for (Faults f :
        List.of(Faults.builder().throttleRate(1).build(), Faults.builder().unavailableRate(1).build())) {
      emulator().resetStats();
      emulator().setFaults(f);
      Http.Reply r = http().post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", Http.inlineBody("throttled", "x"));
      assertTrue(r.code == 429 || r.code == 503, r.text());
      EmulatorStats s = emulator().stats();
      assertEquals(0, s.batchesCreated());
      assertEquals(0, s.creates("throttled"));
      assertEquals(1, s.calls("batches.create"), "the call itself is counted");
    }
    emulator().setFaults(Faults.none());
    for (JsonNode op : http().get("/v1beta/batches?pageSize=1000").ok().json().path("operations")) {
      assertNotEquals("throttled", op.get("metadata").get("displayName").asText());
    }
  }

  /** Creates {@code n} one-request inline jobs, waits for each and returns their end states. */
  private static List<String> jobOutcomes(int n) {
    Http http = http();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      names.add(http.createInline("outcome-" + i, "q" + i).get("name").asText());
    }
    List<String> states = new ArrayList<>();
    for (String name : names) {
      JsonNode op = http.awaitDone(name);
      String state = op.get("metadata").get("state").asText();
      states.add(state);
      if (!state.equals("BATCH_STATE_SUCCEEDED")) {
        assertFalse(op.has("response"), op.toString());
        assertFalse(op.get("metadata").has("output"), op.toString());
      }
    }
    return states;
  }

  @Test
  void failedJobsEndFailedWithCode13() {
    List<String> states = reproducibly(Faults.builder().jobFailureRate(0.5).build(), () -> jobOutcomes(8));
    assertTrue(states.contains("BATCH_STATE_FAILED") && states.contains("BATCH_STATE_SUCCEEDED"), states.toString());
    emulator().setFaults(Faults.builder().jobFailureRate(1).build());
    JsonNode op = http().awaitDone(http().createInline("fails", "x").get("name").asText());
    assertEquals("BATCH_STATE_FAILED", op.get("metadata").get("state").asText());
    assertEquals(13, op.get("error").get("code").asInt());
    assertTrue(op.get("done").asBoolean());
  }

  @Test
  void expiringJobsEndExpiredWithoutResults() {
    List<String> states = reproducibly(Faults.builder().jobExpiryRate(0.5).build(), () -> jobOutcomes(8));
    assertTrue(states.contains("BATCH_STATE_EXPIRED") && states.contains("BATCH_STATE_SUCCEEDED"), states.toString());
    emulator().setFaults(Faults.builder().jobExpiryRate(1).build());
    JsonNode op = http().awaitDone(http().createInline("expires", "x").get("name").asText());
    assertEquals("BATCH_STATE_EXPIRED", op.get("metadata").get("state").asText());
    assertEquals(4, op.get("error").get("code").asInt());
  }

  @Test
  void stuckJobsStayPendingUntilCancelledOrExpired() throws Exception {
    Supplier<List<Boolean>> stuckPattern =
        () -> {
          Http http = http();
          List<String> names = new ArrayList<>();
          for (int i = 0; i < 8; i++) {
            names.add(http.createInline("maybe-stuck-" + i, "s").get("name").asText());
          }
          // A job created after them, without faults, ends: the others had all the time to.
          Faults current = emulator().faults();
          emulator().setFaults(Faults.none());
          http.awaitDone(http.createInline("marker", "m").get("name").asText());
          emulator().setFaults(current);
          List<Boolean> stuck = new ArrayList<>();
          for (String name : names) {
            Await.until(() -> !http.operation(name).get("metadata").get("state").asText().equals("BATCH_STATE_RUNNING"),
                Duration.ofSeconds(10), name + " to leave RUNNING");
            String state = http.operation(name).get("metadata").get("state").asText();
            stuck.add(state.equals("BATCH_STATE_PENDING"));
            if (state.equals("BATCH_STATE_PENDING")) {
              http.post("/v1beta/" + name + ":cancel", "").ok();
              assertEquals("BATCH_STATE_CANCELLED", http.operation(name).get("metadata").get("state").asText());
            }
          }
          return stuck;
        };
    List<Boolean> stuck = reproducibly(Faults.builder().stuckJobRate(0.5).build(), stuckPattern);
    assertTrue(stuck.contains(true) && stuck.contains(false), stuck.toString());

    try (GeminiEmulator expiring =
        GeminiEmulator.builder()
            .jobLatency(Duration.ZERO)
            .jobExpiry(Duration.ofMillis(300))
            .faults(Faults.builder().stuckJobRate(1).build())
            .start()) {
      Http http = new Http(expiring.baseUrl());
      JsonNode op = http.awaitDone(http.createInline("stuck", "x").get("name").asText());
      assertEquals("BATCH_STATE_EXPIRED", op.get("metadata").get("state").asText());
      assertEquals(1, expiring.stats().faults("stuckJob"));
    }
  }

  @Test
  void requestErrorsBecomeErrorLinesWhileTheJobSucceeds() {
    Http http = http();
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < 30; i++) {
      jsonl.append("{\"key\": \"line-").append(i).append("\", \"request\": ").append(Http.request("r" + i)).append("}\n");
    }
    String fileName = http.upload(jsonl.toString(), "errors-in").get("name").asText();
    List<String> failedKeys =
        reproducibly(
            Faults.builder().requestErrorRate(0.3).build(),
            () -> {
              JsonNode op = http.awaitDone(http.createFromFile(fileName, "with-errors").get("name").asText());
              assertEquals("BATCH_STATE_SUCCEEDED", op.get("metadata").get("state").asText());
              String result = op.get("response").get("responsesFile").asText();
              List<String> failed = new ArrayList<>();
              for (String line : http.get("/v1beta/" + result + ":download?alt=media").ok().text().split("\n")) {
                JsonNode n = readTree(line);
                if (n.has("error")) {
                  assertEquals(13, n.get("error").get("code").asInt());
                  assertEquals(EmulatorResponder.INTERNAL_ERROR_MESSAGE, n.get("error").get("message").asText());
                  failed.add(n.get("key").asText());
                }
              }
              assertEquals(
                  Integer.toString(failed.size()),
                  op.get("metadata").get("batchStats").path("failedRequestCount").asText("0"));
              return failed;
            });
    assertTrue(failedKeys.size() > 0 && failedKeys.size() < 30, failedKeys.toString());
  }

  @Test
  void droppedDownloadsSendFullHeadersThenHalfTheBody() throws Exception {
    Http http = http();
    byte[] data = new byte[200_000];
    new Random(5).nextBytes(data);
    String name = http.upload(data, "drop").get("name").asText();
    URI uri = URI.create(emulator().baseUrl() + "/v1beta/" + name + ":download?alt=media");

    emulator().setFaults(Faults.builder().dropDownloadRate(1).build());
    HttpResponse<InputStream> r =
        http.client.send(
            HttpRequest.newBuilder(uri).header("x-goog-api-key", Http.KEY).build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    assertEquals("200000", r.headers().firstValue("content-length").orElseThrow());
    long[] read = {0};
    assertThrows(
        IOException.class,
        () -> {
          try (InputStream in = r.body()) {
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
              read[0] += n;
            }
          }
        });
    assertEquals(100_000, read[0], "half of the body, then the connection drops");

    List<Boolean> dropped =
        reproducibly(
            Faults.builder().dropDownloadRate(0.5).build(),
            () -> {
              List<Boolean> out = new ArrayList<>();
              for (int i = 0; i < 10; i++) {
                try {
                  http.get("/v1beta/" + name + ":download?alt=media");
                  out.add(false);
                } catch (UncheckedIOException e) {
                  out.add(true);
                }
              }
              return out;
            });
    assertTrue(dropped.contains(true) && dropped.contains(false), dropped.toString());
  }

  @Test
  void aLostCreateReplyStillCreatesTheJob() {
    Http http = http();
    emulator().setFaults(Faults.builder().lostCreateReplyRate(1).build());
    assertThrows(
        UncheckedIOException.class,
        () -> http.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", Http.inlineBody("lost-reply", "x")));
    emulator().setFaults(Faults.none());
    JsonNode found = null;
    for (JsonNode op : http.get("/v1beta/batches?pageSize=1000").ok().json().get("operations")) {
      if (op.get("metadata").get("displayName").asText().equals("lost-reply")) {
        found = op;
      }
    }
    assertTrue(found != null, "the job exists although the client saw a dropped connection");
    assertEquals("BATCH_STATE_SUCCEEDED", http.awaitDone(found.get("name").asText()).get("metadata").get("state").asText());
    assertEquals(1, emulator().stats().creates("lost-reply"));
    assertEquals(1, emulator().stats().faults("lostCreateReply"));

    emulator().resetStats();
    List<Boolean> lost =
        reproducibly(
            Faults.builder().lostCreateReplyRate(0.5).build(),
            () -> {
              List<Boolean> out = new ArrayList<>();
              for (int i = 0; i < 8; i++) {
                try {
                  http.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", Http.inlineBody("maybe-lost", "x")).ok();
                  out.add(false);
                } catch (UncheckedIOException e) {
                  out.add(true);
                }
              }
              return out;
            });
    assertTrue(lost.contains(true) && lost.contains(false), lost.toString());
    assertEquals(16, emulator().stats().creates("maybe-lost"), "every create created a job");
  }

  private static List<String> inlineKeys(JsonNode op) {
    List<String> keys = new ArrayList<>();
    for (JsonNode r : op.get("response").get("inlinedResponses").get("inlinedResponses")) {
      String text = r.get("response").get("candidates").get(0).get("content").get("parts").get(0).get("text").asText();
      String key = r.has("metadata") ? r.get("metadata").get("key").asText() : "-";
      keys.add(key + "=" + text);
    }
    return keys;
  }

  @Test
  void reorderedInlineResponsesStillMatchTheirMetadata() {
    String[] prompts = new String[20];
    List<String> inOrder = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      prompts[i] = "p" + i;
      inOrder.add("k" + i + "=echo: p" + i);
    }
    List<String> order =
        reproducibly(
            Faults.builder().reorderInline(true).build(),
            () -> inlineKeys(http().awaitDone(http().createInline("shuffled", prompts).get("name").asText())));
    assertNotEquals(inOrder, order);
    assertEquals(new HashSet<>(inOrder), new HashSet<>(order), "each response still carries its own metadata");
  }

  @Test
  void inlineMetadataCanBeOmitted() {
    emulator().setFaults(Faults.builder().omitInlineMetadata(true).build());
    List<String> keys = inlineKeys(http().awaitDone(http().createInline("no-metadata", "a", "b").get("name").asText()));
    assertEquals(List.of("-=echo: a", "-=echo: b"), keys);
  }

  @Test
  void faultsCanBeChangedOverHttpInStandaloneMode() {
    Http http = http();
    Http.Reply set = http.send("POST", "/_emulator/faults", "{\"throttleRate\": 1}".getBytes());
    assertEquals(1.0, set.ok().json().get("throttleRate").asDouble());
    http.get("/v1beta/batches").error(429, "RESOURCE_EXHAUSTED");
    assertEquals(1.0, emulator().faults().throttleRate());
    http.send("POST", "/_emulator/faults", "{\"throttleRate\": 2}".getBytes()).error(400, "INVALID_ARGUMENT");
    http.send("POST", "/_emulator/faults", "{\"throttleRate\": 0}".getBytes()).ok();
    http.get("/v1beta/batches").ok();
  }

  @Test
  void faultRatesAreValidated() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Faults.builder().jobFailureRate(1.5));
    assertTrue(e.getMessage().contains("jobFailureRate") && e.getMessage().contains("1.5"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Faults.builder().throttleRate(Double.NaN));
    assertEquals(Faults.none(), Faults.builder().build());
    Faults f = Faults.builder().stuckJobRate(0.25).reorderInline(true).build();
    assertEquals(f, f.toBuilder().build());
  }

  private static JsonNode readTree(String json) {
    try {
      return Http.JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
