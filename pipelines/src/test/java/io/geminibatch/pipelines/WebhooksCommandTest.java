package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.GeminiEmulator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code webhooks ...} against an emulator, and {@code listen} receiving genuine and bad deliveries. */
class WebhooksCommandTest {
  private static final String KEY = "webhooks-cli-key";
  private static final Pattern SECRET = Pattern.compile("signing secret: (whsec_\\S+)");
  private static final Pattern ID = Pattern.compile("(?m)^id: +(\\S+)$");

  @TempDir Path dir;

  private static Cli webhooks(GeminiEmulator emulator, String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "webhooks";
    System.arraycopy(args, 0, all, 1, args.length);
    all[args.length + 1] = "--apiKey=" + KEY;
    all[args.length + 2] = "--baseUrl=" + emulator.baseUrl();
    return Cli.run(Map.of(), all);
  }

  private static String group(Pattern p, String text) {
    Matcher m = p.matcher(text);
    assertTrue(m.find(), text);
    return m.group(1);
  }

  @Test
  void everyActionAgainstTheEmulator() throws Exception {
    try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ZERO).start()) {
      Cli created = webhooks(emulator, "create", "--uri=http://127.0.0.1:9/in", "--name=mine");
      assertEquals(0, created.status, created.toString());
      String id = group(ID, created.out);
      String secret = group(SECRET, created.out);
      assertTrue(created.out.contains("events:   batch.succeeded,batch.failed,batch.cancelled,batch.expired"), created.out);

      Cli list = webhooks(emulator, "list");
      assertEquals(0, list.status, list.toString());
      assertTrue(list.out.contains(id) && list.out.contains("http://127.0.0.1:9/in"), list.out);
      assertFalse(list.out.contains(secret.substring(10)), "the secret is shown once only");

      Cli got = webhooks(emulator, "get", id);
      assertTrue(got.out.contains("name:     mine"), got.out);
      assertFalse(got.out.contains(secret.substring(10)));

      Cli rotated = webhooks(emulator, "rotate-secret", id);
      assertEquals(0, rotated.status, rotated.toString());
      assertTrue(rotated.out.contains("new signing secret: whsec_"), rotated.out);
      assertEquals(2, webhooks(emulator, "get", id).out.split("whsec_", -1).length - 1, "two secrets valid");

      Cli ping = webhooks(emulator, "ping", id);
      assertEquals(0, ping.status, ping.toString());
      assertTrue(ping.out.contains("ping sent to http://127.0.0.1:9/in"), ping.out);

      Cli events = webhooks(emulator, "create", "--uri=http://127.0.0.1:9/x", "--events=batch.failed");
      assertTrue(events.out.contains("events:   batch.failed"), events.out);
      Cli bad = webhooks(emulator, "create", "--uri=http://127.0.0.1:9/x", "--events=batch.done");
      assertEquals(1, bad.status, bad.toString());
      assertTrue(bad.err.contains("400") && bad.err.contains("batch.done"), bad.err);
      assertEquals(2, webhooks(emulator, "create").status, "no --uri: usage error");

      assertEquals(0, webhooks(emulator, "delete", id).status);
      Cli gone = webhooks(emulator, "get", id);
      assertEquals(1, gone.status);
      assertTrue(gone.err.contains("404"), gone.err);
      assertEquals(2, webhooks(emulator, "frobnicate").status);
      assertEquals(2, Cli.run(Map.of(), "webhooks", "list").status, "no key");
    }
  }

  /** Signs as Standard Webhooks does, independently of the code under test. */
  private static String sign(String secret, String id, long ts, byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring(6)), "HmacSHA256"));
    mac.update((id + "." + ts + ".").getBytes(StandardCharsets.UTF_8));
    return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
  }

  private static int post(String url, String id, long ts, String signature, byte[] body) throws Exception {
    HttpRequest r =
        HttpRequest.newBuilder(URI.create(url + "/hook"))
            .header("webhook-id", id)
            .header("webhook-timestamp", Long.toString(ts))
            .header("webhook-signature", signature)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    return HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void listenWritesGenuineEventsOnceAndRefusesForgedOrStaleOnes() throws Exception {
    String secret = "whsec_" + Base64.getEncoder().encodeToString("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
    String forger = "whsec_" + Base64.getEncoder().encodeToString("fedcba9876543210fedcba9876543210".getBytes(StandardCharsets.UTF_8));
    Path events = dir.resolve("events.jsonl");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        ListenCommand.Listener listener =
            ListenCommand.start(
                new String[] {"--port=0", "--secret=" + secret, "--events=" + events}, o, e, Map.of())) {
      String url = out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
      assertTrue(url.matches("listening on http://127\\.0\\.0\\.1:\\d+"), url);
      String base = url.substring("listening on ".length());
      byte[] body = "{\"type\":\"batch.succeeded\",\"version\":\"v1\",\"data\":{\"id\":\"batches/b1\"}}".getBytes(StandardCharsets.UTF_8);
      long now = Instant.now().getEpochSecond();

      assertEquals(204, post(base, "msg_1", now, sign(secret, "msg_1", now, body), body), "genuine");
      assertEquals(204, post(base, "msg_1", now, sign(secret, "msg_1", now, body), body), "a redelivery is acknowledged");
      assertEquals(401, post(base, "msg_2", now, sign(forger, "msg_2", now, body), body), "forged");
      long stale = now - 6 * 60;
      assertEquals(400, post(base, "msg_3", stale, sign(secret, "msg_3", stale, body), body), "stale");
      long future = now + 6 * 60;
      assertEquals(400, post(base, "msg_4", future, sign(secret, "msg_4", future, body), body), "future");
      byte[] tampered = new String(body, StandardCharsets.UTF_8).replace("b1", "b2").getBytes(StandardCharsets.UTF_8);
      assertEquals(401, post(base, "msg_5", now, sign(secret, "msg_5", now, body), tampered), "tampered");

      List<String> lines = Files.readAllLines(events);
      assertEquals(1, lines.size(), String.join("\n", lines));
      JsonNode line = Cli.JSON.readTree(lines.get(0));
      assertEquals("msg_1", line.get("webhook_id").asText());
      assertEquals("batch.succeeded", line.get("type").asText());
      assertEquals("batches/b1", line.get("data").get("id").asText());
      assertTrue(err.toString(StandardCharsets.UTF_8).contains("refused"));
    }
  }

  @Test
  void listenReceivesTheEmulatorsDeliveriesOfARealRun() throws Exception {
    Path events = dir.resolve("run.jsonl");
    try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(200)).start()) {
      Cli created = webhooks(emulator, "create", "--uri=http://127.0.0.1:1/placeholder", "--events=batch.succeeded");
      String id = group(ID, created.out);
      String secret = group(SECRET, created.out);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
          PrintStream e = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
          ListenCommand.Listener listener =
              ListenCommand.start(
                  new String[] {"--port=0", "--secret=" + secret, "--events=" + events}, o, e, Map.of())) {
        // point the webhook at the receiver (update with a mask, as the SDK does)
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/v1beta/webhooks/" + id + "?update_mask=uri"))
                    .header("x-goog-api-key", KEY)
                    .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"uri\": \"" + listener.url + "/gemini\"}"))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        Path input = dir.resolve("prompts.txt");
        Files.writeString(input, "one\ntwo\nthree\n");
        Cli run =
            Cli.run(
                Map.of(),
                "generate", "--input=" + input, "--output=" + dir.resolve("answers"),
                "--apiKey=" + KEY, "--baseUrl=" + emulator.baseUrl(), "--pollInterval=1");
        assertEquals(0, run.status, run.toString());
        long jobs = emulator.stats().batchesCreated();
        assertTrue(jobs > 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((!Files.exists(events) || Files.readAllLines(events).size() < jobs) && System.nanoTime() < deadline) {
          java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
        }
        List<String> lines = Files.readAllLines(events);
        assertEquals(jobs, lines.size(), String.join("\n", lines));
        assertEquals("batch.succeeded", Cli.JSON.readTree(lines.get(0)).get("type").asText());
      }
    }
  }
}
