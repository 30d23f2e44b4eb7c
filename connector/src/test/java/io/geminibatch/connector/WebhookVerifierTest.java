package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.geminibatch.testing.GeminiEmulator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Create;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WebhookVerifier against signatures made here, and withWebhookConfig against the emulator. */
class WebhookVerifierTest {
  private static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(bytes(32, 1));
  private static final String OTHER = "whsec_" + Base64.getEncoder().encodeToString(bytes(32, 2));
  private static final Instant NOW = Instant.parse("2026-05-04T12:00:00Z");
  private static final byte[] BODY =
      "{\"type\":\"batch.succeeded\",\"version\":\"v1\",\"data\":{\"id\":\"batches/x\"}}"
          .getBytes(StandardCharsets.UTF_8);

  @TempDir Path staging;

  private static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  /** A signature made independently of the verifier. */
  private static String sign(String secret, String id, long ts, byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring(6)), "HmacSHA256"));
    mac.update((id + "." + ts + ".").getBytes(StandardCharsets.UTF_8));
    return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
  }

  private static WebhookVerifier verifier(String... secrets) {
    return WebhookVerifier.of(secrets).withClock(Clock.fixed(NOW, ZoneOffset.UTC));
  }

  @Test
  void acceptsAGenuineDeliveryAndRefusesForgedStaleFutureOrTampered() throws Exception {
    long ts = NOW.getEpochSecond();
    String sig = sign(SECRET, "msg_1", ts, BODY);
    WebhookVerifier.Event e = verifier(SECRET).verify("msg_1", Long.toString(ts), sig, BODY);
    assertEquals("batch.succeeded", e.type());
    assertEquals("batches/x", e.batchName());
    assertEquals("msg_1", e.webhookId());
    assertTrue(e.toJsonLine().contains("\"webhook_id\":\"msg_1\""));

    WebhookVerifier v = verifier(SECRET);
    assertFalse(v.isValid("msg_1", Long.toString(ts), sign(OTHER, "msg_1", ts, BODY), BODY), "forged");
    assertFalse(v.isValid("msg_2", Long.toString(ts), sig, BODY), "another id");
    byte[] tampered = BODY.clone();
    tampered[10] ^= 1;
    assertFalse(v.isValid("msg_1", Long.toString(ts), sig, tampered), "tampered body");
    long stale = ts - 301;
    WebhookVerifier.VerificationException old =
        assertThrows(
            WebhookVerifier.VerificationException.class,
            () -> v.verify("msg_1", Long.toString(stale), sign(SECRET, "msg_1", stale, BODY), BODY));
    assertTrue(old.getMessage().contains("301 s old"), old.getMessage());
    assertTrue(v.isValid("msg_1", Long.toString(ts - 299), sign(SECRET, "msg_1", ts - 299, BODY), BODY));
    long future = ts + 60;
    assertFalse(v.isValid("msg_1", Long.toString(future), sign(SECRET, "msg_1", future, BODY), BODY), "future");
    assertFalse(v.isValid("msg_1", "yesterday", sig, BODY));
    assertFalse(v.isValid(null, Long.toString(ts), sig, BODY));
    assertFalse(v.isValid("msg_1", Long.toString(ts), "v1,???", BODY));
    assertFalse(v.isValid("msg_1", Long.toString(ts), "v2," + sig.substring(3), BODY), "only v1 counts");
    assertFalse(v.toString().contains(SECRET.substring(6, 20)), "no secret in toString");
  }

  @Test
  void duringARotationEitherSecretAndEitherSignatureWorks() throws Exception {
    long ts = NOW.getEpochSecond();
    String both = sign(OTHER, "m", ts, BODY) + " " + sign(SECRET, "m", ts, BODY);
    assertTrue(verifier(SECRET).isValid("m", Long.toString(ts), both, BODY));
    assertTrue(verifier(OTHER).isValid("m", Long.toString(ts), both, BODY));
    assertTrue(verifier("whsec_" + Base64.getEncoder().encodeToString(bytes(32, 9)), SECRET)
        .isValid("m", Long.toString(ts), sign(SECRET, "m", ts, BODY), BODY));
    assertThrows(IllegalArgumentException.class, () -> WebhookVerifier.of("whsec_!!!"));
    assertThrows(IllegalArgumentException.class, () -> WebhookVerifier.of(List.of()));
  }

  @Test
  void everyJobOfATransformCarriesItsWebhookConfig() throws Exception {
    BlockingQueue<Map<String, Object>> got = new LinkedBlockingQueue<>();
    HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
    receiver.createContext(
        "/",
        ex -> {
          try (ex) {
            Map<String, Object> d = new HashMap<>();
            d.put("id", ex.getRequestHeaders().getFirst("webhook-id"));
            d.put("ts", ex.getRequestHeaders().getFirst("webhook-timestamp"));
            d.put("sig", ex.getRequestHeaders().getFirst("webhook-signature"));
            d.put("body", ex.getRequestBody().readAllBytes());
            got.add(d);
            ex.sendResponseHeaders(204, -1);
          }
        });
    receiver.start();
    try (GeminiEmulator emulator =
        GeminiEmulator.builder().jobLatency(java.time.Duration.ofMillis(50)).start()) {
      String uri = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/events";
      Pipeline p = TestPipelines.direct();
      List<GenerateRequest> input = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        input.add(GenerateRequest.ofPrompt("k" + i, "prompt " + i));
      }
      p.apply(Create.of(input))
          .apply(
              TestPipelines.generate(emulator, staging)
                  .withMaxRequestsPerJob(10)
                  .withWebhookConfig(List.of(uri), Map.of("run", "run-7")));
      TestPipelines.run(p);
      long jobs = emulator.stats().batchesCreated();
      assertEquals(3, jobs);
      WebhookVerifier v = WebhookVerifier.of(emulator.webhookSigningSecret());
      List<String> batches = new ArrayList<>();
      for (int i = 0; i < jobs; i++) {
        Map<String, Object> d = got.poll(20, TimeUnit.SECONDS);
        assertTrue(d != null, "no delivery for job " + i);
        WebhookVerifier.Event e =
            v.verify((String) d.get("id"), (String) d.get("ts"), (String) d.get("sig"), (byte[]) d.get("body"));
        assertEquals("batch.succeeded", e.type());
        assertEquals(Map.of("run", "run-7"), e.userMetadata());
        batches.add(e.batchName());
      }
      assertEquals(3, batches.stream().distinct().count());
    } finally {
      receiver.stop(0);
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> GeminiBatchIO.generate().withWebhookConfig(List.of("not a url"), Map.of()));
    assertThrows(
        IllegalArgumentException.class, () -> GeminiBatchIO.embed().withWebhookConfig(List.of(), Map.of()));
  }
}
