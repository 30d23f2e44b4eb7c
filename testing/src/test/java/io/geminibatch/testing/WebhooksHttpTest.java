package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The webhooks API over raw HTTP and its deliveries, each signature checked with the test's own
 * HMAC ({@link WebhookReceiver}), not with the emulator's signing code.
 */
class WebhooksHttpTest {

  private static GeminiEmulator.Builder emulator() {
    return GeminiEmulator.builder()
        .jobLatency(Duration.ZERO)
        .webhookRetrySchedule(Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofMillis(80))
        .webhookAttemptTimeout(Duration.ofSeconds(5));
  }

  private static JsonNode create(Http http, String uri, String... events) {
    StringBuilder ev = new StringBuilder();
    for (String e : events) {
      ev.append(ev.length() == 0 ? "" : ", ").append('"').append(e).append('"');
    }
    return http.post(
            "/v1beta/webhooks",
            "{\"name\": \"hook\", \"uri\": \"" + uri + "\", \"subscribed_events\": [" + ev + "]}")
        .ok()
        .json();
  }

  @Test
  void everyEndpointAnswersAsTheSdkExpects() throws Exception {
    try (GeminiEmulator emu = emulator().start()) {
      Http http = new Http(emu.baseUrl());
      JsonNode hook = create(http, "http://127.0.0.1:9/a", "batch.succeeded", "batch.failed");
      String id = hook.get("id").asText();
      String secret = hook.get("new_signing_secret").asText();
      assertTrue(secret.startsWith("whsec_"), secret);
      assertTrue(Base64.getDecoder().decode(secret.substring(6)).length >= 24, secret);
      assertEquals("hook", hook.get("name").asText());
      assertEquals("http://127.0.0.1:9/a", hook.get("uri").asText());
      assertEquals("enabled", hook.get("state").asText());
      assertEquals("[\"batch.succeeded\",\"batch.failed\"]", hook.get("subscribed_events").toString());
      assertTrue(Instant.parse(hook.get("create_time").asText()).isBefore(Instant.now().plusSeconds(1)));
      assertEquals(1, hook.get("signing_secrets").size());
      String truncated = hook.get("signing_secrets").get(0).get("truncated_secret").asText();
      assertTrue(secret.startsWith(truncated.replace("...", "")), truncated);
      assertFalse(truncated.length() >= secret.length(), "truncated");

      // get: the secret is never shown again; /v1 serves the same resource
      JsonNode got = http.get("/v1/webhooks/" + id).ok().json();
      assertNull(got.get("new_signing_secret"));
      assertEquals(id, got.get("id").asText());
      assertFalse(http.get("/v1beta/webhooks/" + id).text().contains(secret.substring(6)));

      // list with paging
      create(http, "http://127.0.0.1:9/b", "batch.expired");
      create(http, "http://127.0.0.1:9/c", "batch.cancelled");
      JsonNode page1 = http.get("/v1beta/webhooks?page_size=2").ok().json();
      assertEquals(2, page1.get("webhooks").size());
      String token = page1.get("next_page_token").asText();
      JsonNode page2 = http.get("/v1beta/webhooks?page_size=2&page_token=" + token).ok().json();
      assertEquals(1, page2.get("webhooks").size());
      assertNull(page2.get("next_page_token"));
      List<String> uris = new ArrayList<>();
      page1.get("webhooks").forEach(w -> uris.add(w.get("uri").asText()));
      page2.get("webhooks").forEach(w -> uris.add(w.get("uri").asText()));
      assertEquals(
          List.of("http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "http://127.0.0.1:9/c"), uris);
      assertEquals(3, http.get("/v1beta/webhooks").ok().json().get("webhooks").size());
      http.get("/v1beta/webhooks?page_token=bogus").error(400, "INVALID_ARGUMENT");

      // update with a mask changes only the masked fields
      JsonNode upd =
          http.call(
                  "PATCH",
                  "/v1beta/webhooks/" + id + "?update_mask=name",
                  "{\"name\": \"renamed\", \"uri\": \"http://127.0.0.1:9/ignored\"}")
              .ok()
              .json();
      assertEquals("renamed", upd.get("name").asText());
      assertEquals("http://127.0.0.1:9/a", upd.get("uri").asText());
      // without a mask, the fields present
      upd =
          http.call(
                  "PATCH",
                  "/v1beta/webhooks/" + id,
                  "{\"state\": \"disabled\", \"subscribed_events\": [\"batch.expired\"]}")
              .ok()
              .json();
      assertEquals("disabled", upd.get("state").asText());
      assertEquals("[\"batch.expired\"]", upd.get("subscribed_events").toString());
      assertEquals("renamed", upd.get("name").asText());
      http.call("PATCH", "/v1beta/webhooks/" + id, "{\"state\": \"disabled_due_to_failed_deliveries\"}")
          .error(400, "INVALID_ARGUMENT");
      http.call("PATCH", "/v1beta/webhooks/" + id + "?update_mask=id", "{}")
          .error(400, "INVALID_ARGUMENT");

      // bad creates
      http.post("/v1beta/webhooks", "{\"subscribed_events\": [\"batch.succeeded\"]}")
          .error(400, "INVALID_ARGUMENT");
      http.post("/v1beta/webhooks", "{\"uri\": \"https://x.example\", \"subscribed_events\": [\"batch.done\"]}")
          .error(400, "INVALID_ARGUMENT");
      http.post("/v1beta/webhooks", "{\"uri\": \"ftp://x.example\", \"subscribed_events\": [\"batch.failed\"]}")
          .error(400, "INVALID_ARGUMENT");
      http.post("/v1beta/webhooks", "{\"uri\": \"https://x.example\", \"subscribed_events\": [],"
              + " \"color\": 1}")
          .error(400, "INVALID_ARGUMENT");

      // ping and rotate answer; the caller's key owns the webhooks
      assertEquals("{}", http.post("/v1beta/webhooks/" + id + ":ping", "{}").ok().json().toString());
      JsonNode rotated =
          http.post("/v1beta/webhooks/" + id + ":rotateSigningSecret", "{}").ok().json();
      assertTrue(rotated.get("secret").asText().startsWith("whsec_"));
      http.send("GET", "/v1beta/webhooks/" + id, null, "x-goog-api-key", "another-key")
          .error(404, "NOT_FOUND");
      http.send("GET", "/v1beta/webhooks", null).error(403, "PERMISSION_DENIED");
      http.call("PUT", "/v1beta/webhooks/" + id, "{}").error(404, "NOT_FOUND");

      // delete
      assertEquals("{}", http.call("DELETE", "/v1beta/webhooks/" + id, null).ok().json().toString());
      http.get("/v1beta/webhooks/" + id).error(404, "NOT_FOUND");
      assertEquals(2, http.get("/v1beta/webhooks").ok().json().get("webhooks").size());
      assertEquals(1, emu.stats().calls("webhooks.delete"));
      assertEquals(7, emu.stats().calls("webhooks.create"), "3 created, 4 refused");
    }
  }

  @Test
  void aBatchThatEndsIsDeliveredSignedToTheSubscribedWebhooks() throws Exception {
    try (GeminiEmulator emu = emulator().start();
        WebhookReceiver ok = new WebhookReceiver();
        WebhookReceiver other = new WebhookReceiver()) {
      Http http = new Http(emu.baseUrl());
      String secret = create(http, ok.url(), "batch.succeeded", "batch.failed")
          .get("new_signing_secret").asText();
      create(http, other.url(), "batch.expired");

      JsonNode file = http.upload("{\"key\": \"1\", \"request\": " + Http.request("a") + "}\n", "in");
      String name = http.createFromFile(file.get("name").asText(), "hooked").get("name").asText();
      WebhookReceiver.Delivery d = ok.next();
      assertEquals(1, d.validSignatures(secret), d.signature());
      assertTrue(d.id().startsWith("msg_"), d.id());
      long ts = Long.parseLong(d.timestamp());
      assertTrue(Math.abs(Instant.now().getEpochSecond() - ts) < 60, d.timestamp());
      JsonNode event = d.json();
      assertEquals("batch.succeeded", event.get("type").asText());
      assertEquals("v1", event.get("version").asText());
      Instant.parse(event.get("timestamp").asText());
      assertEquals(name, event.get("data").get("id").asText());
      assertEquals(
          http.awaitDone(name).get("response").get("responsesFile").asText(),
          event.get("data").get("output_file_uri").asText());
      assertEquals(0, d.validSignatures("whsec_" + Base64.getEncoder().encodeToString(new byte[32])));

      // a failed batch: its error in the event
      emu.setFaults(Faults.builder().jobFailureRate(1).build());
      String failed = http.createInline("fails", "x").get("name").asText();
      JsonNode f = ok.next().json();
      assertEquals("batch.failed", f.get("type").asText());
      assertEquals(failed, f.get("data").get("id").asText());
      assertEquals(13, f.get("data").get("error_code").asInt());
      assertTrue(f.get("data").get("error_message").asText().contains("internal error"));
      assertEquals(2, emu.stats().webhookDeliveries("deliveries"));
      assertEquals(0, other.pending(), "the webhook not subscribed to these events got nothing");
    }
  }

  @Test
  void cancelledAndDynamicWebhookConfigGoOnlyToTheBatchsOwnUris() throws Exception {
    try (GeminiEmulator emu = emulator().jobLatency(Duration.ofMinutes(5)).start();
        WebhookReceiver registered = new WebhookReceiver();
        WebhookReceiver own = new WebhookReceiver()) {
      Http http = new Http(emu.baseUrl());
      create(http, registered.url(), "batch.cancelled");
      String body =
          "{\"batch\": {\"displayName\": \"dyn\", \"webhookConfig\": {\"uris\": [\"" + own.url()
              + "\"], \"user_metadata\": {\"run\": \"r1\", \"n\": 2}}, \"inputConfig\": {\"requests\":"
              + " {\"requests\": [{\"request\": " + Http.request("q") + "}]}}}}";
      String name =
          http.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", body).ok().json()
              .get("name").asText();
      http.post("/v1beta/" + name + ":cancel", "{}").ok();
      WebhookReceiver.Delivery d = own.next();
      assertEquals(1, d.validSignatures(emu.webhookSigningSecret()));
      JsonNode e = d.json();
      assertEquals("batch.cancelled", e.get("type").asText());
      assertEquals(name, e.get("data").get("id").asText());
      assertEquals("{\"run\":\"r1\",\"n\":2}", e.get("data").get("user_metadata").toString());
      assertEquals(1, emu.stats().webhookDeliveries("deliveries"), "only the batch's own URI");
      assertEquals(0, registered.pending());

      // a registered webhook hears the next cancel, without user_metadata
      String plain = http.createInline("plain", "x").get("name").asText();
      http.post("/v1beta/" + plain + ":cancel", "{}").ok();
      JsonNode p = registered.next().json();
      assertEquals(plain, p.get("data").get("id").asText());
      assertNull(p.get("data").get("user_metadata"));

      http.post(
              "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
              body.replace(own.url(), "not a url"))
          .error(400, "INVALID_ARGUMENT");
    }
  }

  @Test
  void aFailedDeliveryIsRetriedUnderTheSameIdThenTheWebhookIsDisabled() throws Exception {
    try (GeminiEmulator emu = emulator().start();
        WebhookReceiver flaky = new WebhookReceiver();
        WebhookReceiver down = new WebhookReceiver()) {
      Http http = new Http(emu.baseUrl());
      AtomicInteger calls = new AtomicInteger();
      flaky.answer(() -> calls.incrementAndGet() <= 2 ? 500 : 200);
      String flakySecret = create(http, flaky.url(), "batch.succeeded").get("new_signing_secret").asText();
      http.createInline("retried", "x");
      List<WebhookReceiver.Delivery> three = flaky.next(3);
      for (WebhookReceiver.Delivery d : three) {
        assertEquals(three.get(0).id(), d.id(), "retries keep the webhook-id");
        assertEquals(1, d.validSignatures(flakySecret));
      }
      Await.until(
          () -> emu.stats().webhookDeliveries("delivered") == 1, Duration.ofSeconds(10), "delivered");
      assertEquals(2, emu.stats().webhookDeliveries("retries"));
      assertEquals(3, emu.stats().webhookDeliveries("attempts"));
      assertEquals(2, emu.stats().webhookDeliveries("failedAttempts"));

      // a receiver that never succeeds: 1 attempt + 3 retries, then the webhook is disabled
      http.call("DELETE", "/v1beta/webhooks/"
          + http.get("/v1beta/webhooks").json().get("webhooks").get(0).get("id").asText(), null).ok();
      down.answer(() -> 503);
      String id = create(http, down.url(), "batch.succeeded").get("id").asText();
      http.createInline("given-up", "x");
      List<WebhookReceiver.Delivery> four = down.next(4);
      assertTrue(four.stream().allMatch(d -> d.id().equals(four.get(0).id())));
      Await.until(
          () -> http.get("/v1beta/webhooks/" + id).json().get("state").asText()
              .equals("disabled_due_to_failed_deliveries"),
          Duration.ofSeconds(10),
          "webhook disabled");
      assertEquals(1, emu.stats().webhookDeliveries("disabledWebhooks"));
      assertEquals(1, emu.stats().webhookDeliveries("givenUp"));

      // disabled: the next batch is not delivered to it; enabling it again works
      http.createInline("after", "x");
      http.awaitDone(http.createInline("after2", "y").get("name").asText());
      assertEquals(2, emu.stats().webhookDeliveries("deliveries"));
      assertEquals(
          "enabled",
          http.call("PATCH", "/v1beta/webhooks/" + id + "?update_mask=state", "{\"state\": \"enabled\"}")
              .ok().json().get("state").asText());
    }
  }

  @Test
  void rotationSignsWithEveryValidSecretUntilRevoked() throws Exception {
    try (GeminiEmulator emu = emulator().start(); WebhookReceiver r = new WebhookReceiver()) {
      Http http = new Http(emu.baseUrl());
      JsonNode hook = create(http, r.url(), "batch.succeeded");
      String id = hook.get("id").asText();
      String first = hook.get("new_signing_secret").asText();
      http.post("/v1beta/webhooks/" + id + ":ping", "{}").ok();
      WebhookReceiver.Delivery ping = r.next();
      assertEquals("webhook.ping", ping.json().get("type").asText());
      assertEquals(1, ping.signatureCount());
      assertEquals(1, ping.validSignatures(first));

      String second =
          http.post(
                  "/v1beta/webhooks/" + id + ":rotateSigningSecret",
                  "{\"revocation_behavior\": \"revoke_previous_secrets_after_h24\"}")
              .ok().json().get("secret").asText();
      JsonNode secrets = http.get("/v1beta/webhooks/" + id).json().get("signing_secrets");
      assertEquals(2, secrets.size());
      assertNull(secrets.get(0).get("expire_time"), "the new secret does not expire");
      Instant expire = Instant.parse(secrets.get(1).get("expire_time").asText());
      assertTrue(expire.isAfter(Instant.now().plus(Duration.ofHours(23))), expire.toString());
      http.createInline("rotated", "x");
      WebhookReceiver.Delivery both = r.next();
      assertEquals(2, both.signatureCount());
      assertEquals(1, both.validSignatures(first));
      assertEquals(1, both.validSignatures(second));

      String third =
          http.post(
                  "/v1beta/webhooks/" + id + ":rotateSigningSecret",
                  "{\"revocation_behavior\": \"revoke_previous_secrets_immediately\"}")
              .ok().json().get("secret").asText();
      http.post("/v1beta/webhooks/" + id + ":ping", "{}").ok();
      WebhookReceiver.Delivery only = r.next();
      assertEquals(1, only.signatureCount());
      assertEquals(1, only.validSignatures(third));
      assertEquals(0, only.validSignatures(first) + only.validSignatures(second));
      http.post("/v1beta/webhooks/" + id + ":rotateSigningSecret", "{\"revocation_behavior\": \"x\"}")
          .error(400, "INVALID_ARGUMENT");
    }
  }

  @Test
  void duplicateAndDelayedDeliveryFaults() throws Exception {
    try (GeminiEmulator emu =
            emulator()
                .webhookFaultDelay(Duration.ofMillis(300))
                .faults(Faults.builder().webhookDuplicateRate(1).webhookDelayRate(1).build())
                .start();
        WebhookReceiver r = new WebhookReceiver()) {
      Http http = new Http(emu.baseUrl());
      String secret = create(http, r.url(), "batch.succeeded").get("new_signing_secret").asText();
      http.createInline("dup", "x");
      List<WebhookReceiver.Delivery> two = r.next(2);
      assertEquals(two.get(0).id(), two.get(1).id(), "a duplicate keeps the webhook-id");
      assertEquals(1, two.get(1).validSignatures(secret));
      assertEquals(1, emu.stats().faults("webhookDuplicate"));
      assertEquals(1, emu.stats().faults("webhookDelay"));
      assertTrue(emu.stats().toJson().contains("\"webhookDeliveries\""));
    }
  }
}
