package io.geminibatch.connector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies a Gemini API webhook delivery before a receiver trusts it: the Standard Webhooks
 * signature and the timestamp.
 *
 * <p>A delivery carries {@code webhook-id}, {@code webhook-timestamp} (unix seconds) and {@code
 * webhook-signature} ({@code v1,<base64 HMAC-SHA256>} of {@code "<id>.<timestamp>.<raw body>"},
 * one per secret valid at sending time, separated by spaces). It is accepted when one of those
 * signatures matches one of the given secrets ({@code whsec_...}; give the old and the new one
 * while a rotated secret is being revoked) and the timestamp is at most 5 minutes old and not in
 * the future (5 seconds of clock skew allowed). Deliveries are at least once: deduplicate on
 * {@link Event#webhookId()}.
 *
 * <pre>{@code
 * WebhookVerifier verifier = WebhookVerifier.of(System.getenv("GEMINI_WEBHOOK_SECRET"));
 * // in a servlet:
 * byte[] body = request.getInputStream().readAllBytes();   // the raw bytes, before any parsing
 * try {
 *   WebhookVerifier.Event event = verifier.verify(request::getHeader, body);
 *   if (event.type().equals("batch.succeeded")) { ... event.batchName() ... }
 *   response.setStatus(204);
 * } catch (WebhookVerifier.VerificationException e) {
 *   response.setStatus(400);
 * }
 * }</pre>
 *
 * <p>Thread-safe and serializable; secrets are never shown by {@link #toString()} or in
 * exception messages.
 */
public final class WebhookVerifier implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The default: refuse deliveries signed more than 5 minutes ago. */
  public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);

  /** Clock skew allowed for a timestamp ahead of this machine's clock. */
  public static final Duration FUTURE_SKEW = Duration.ofSeconds(5);

  private final List<byte[]> keys;
  private final Duration tolerance;
  private final Clock clock;

  private WebhookVerifier(List<byte[]> keys, Duration tolerance, Clock clock) {
    this.keys = keys;
    this.tolerance = tolerance;
    this.clock = clock;
  }

  /** A verifier accepting signatures by any of {@code secrets} ({@code whsec_<base64>}). */
  public static WebhookVerifier of(String... secrets) {
    return of(List.of(secrets));
  }

  public static WebhookVerifier of(List<String> secrets) {
    if (secrets == null || secrets.isEmpty()) {
      throw new IllegalArgumentException("WebhookVerifier: at least one signing secret is required");
    }
    List<byte[]> keys = new ArrayList<>();
    for (String s : secrets) {
      keys.add(key(s));
    }
    return new WebhookVerifier(Collections.unmodifiableList(keys), DEFAULT_TOLERANCE, Clock.systemUTC());
  }

  /** The HMAC key of a {@code whsec_} secret (the prefix is optional, as Standard Webhooks allows). */
  static byte[] key(String secret) {
    if (secret == null || secret.isBlank()) {
      throw new IllegalArgumentException("WebhookVerifier: a signing secret must be non-empty");
    }
    String b64 = secret.startsWith("whsec_") ? secret.substring(6) : secret;
    byte[] key;
    try {
      key = Base64.getDecoder().decode(b64.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "WebhookVerifier: a signing secret is 'whsec_' followed by base64 (the value shown once"
              + " when the webhook was created or its secret rotated)");
    }
    if (key.length == 0) {
      throw new IllegalArgumentException("WebhookVerifier: a signing secret has an empty key");
    }
    return key;
  }

  /** How old a delivery may be; default 5 minutes. */
  public WebhookVerifier withTolerance(Duration tolerance) {
    if (tolerance == null || tolerance.isNegative() || tolerance.isZero()) {
      throw new IllegalArgumentException("withTolerance: tolerance must be positive, got " + tolerance);
    }
    return new WebhookVerifier(keys, tolerance, clock);
  }

  /** The clock the timestamp is checked against (tests). */
  WebhookVerifier withClock(Clock clock) {
    return new WebhookVerifier(keys, tolerance, Objects.requireNonNull(clock, "clock"));
  }

  /** Why a delivery was refused. */
  public static final class VerificationException extends Exception {
    private static final long serialVersionUID = 1L;

    VerificationException(String message) {
      super(message);
    }
  }

  /** A verified event. */
  public static final class Event implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String webhookId;
    private final long timestamp;
    private final String json;

    Event(String webhookId, long timestamp, String json) {
      this.webhookId = webhookId;
      this.timestamp = timestamp;
      this.json = json;
    }

    /** The delivery's {@code webhook-id}: the same for every retry of one event. */
    public String webhookId() {
      return webhookId;
    }

    /** When it was signed. */
    public Instant timestamp() {
      return Instant.ofEpochSecond(timestamp);
    }

    /** The raw body, as sent. */
    public String json() {
      return json;
    }

    private JsonNode tree() {
      try {
        return JSON.readTree(json);
      } catch (IOException e) {
        throw new IllegalStateException("a verified event is JSON", e);
      }
    }

    /** {@code type}, e.g. {@code batch.succeeded}; null when absent. */
    public String type() {
      JsonNode t = tree().get("type");
      return t == null || !t.isTextual() ? null : t.asText();
    }

    /** {@code data.id}: the batch (e.g. {@code batches/abc}); null when absent. */
    public String batchName() {
      JsonNode id = tree().path("data").get("id");
      return id == null || !id.isTextual() ? null : id.asText();
    }

    /** {@code data.user_metadata}, as strings; empty when absent. */
    public Map<String, String> userMetadata() {
      Map<String, String> out = new LinkedHashMap<>();
      tree().path("data").path("user_metadata").fields()
          .forEachRemaining(e -> out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()));
      return out;
    }

    /** The event as one JSON line, with the delivery's {@code webhook_id} added. */
    public String toJsonLine() {
      JsonNode n = tree();
      ObjectNode o = n.isObject() ? ((ObjectNode) n).deepCopy() : JSON.createObjectNode().set("event", n);
      o.put("webhook_id", webhookId);
      try {
        return JSON.writeValueAsString(o);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /**
   * Verifies a delivery given a header lookup (case-insensitive, as servlets and most servers
   * give it) and the raw body.
   */
  public Event verify(Function<String, String> headers, byte[] body) throws VerificationException {
    return verify(
        headers.apply("webhook-id"),
        headers.apply("webhook-timestamp"),
        headers.apply("webhook-signature"),
        body);
  }

  /** Verifies a delivery from its three headers and its raw body. */
  public Event verify(String webhookId, String timestamp, String signatureHeader, byte[] body)
      throws VerificationException {
    if (webhookId == null || webhookId.isEmpty()) {
      throw new VerificationException("missing webhook-id header");
    }
    if (timestamp == null || signatureHeader == null || signatureHeader.isBlank()) {
      throw new VerificationException(
          "missing " + (timestamp == null ? "webhook-timestamp" : "webhook-signature") + " header");
    }
    if (body == null) {
      throw new VerificationException("missing body");
    }
    long ts;
    try {
      ts = Long.parseLong(timestamp.trim());
    } catch (NumberFormatException e) {
      throw new VerificationException("webhook-timestamp is not unix seconds: " + shorten(timestamp));
    }
    long now = clock.instant().getEpochSecond();
    if (ts < now - tolerance.getSeconds()) {
      throw new VerificationException(
          "webhook-timestamp " + ts + " is " + (now - ts) + " s old (at most " + tolerance.getSeconds()
              + " s allowed): a stale or replayed delivery");
    }
    if (ts > now + FUTURE_SKEW.getSeconds()) {
      throw new VerificationException(
          "webhook-timestamp " + ts + " is " + (ts - now) + " s in the future");
    }
    byte[] signed = (webhookId + "." + ts + ".").getBytes(StandardCharsets.UTF_8);
    List<byte[]> expected = new ArrayList<>(keys.size());
    for (byte[] key : keys) {
      expected.add(hmac(key, signed, body));
    }
    for (String part : signatureHeader.trim().split("\\s+")) {
      int comma = part.indexOf(',');
      if (comma < 0 || !part.substring(0, comma).equals("v1")) {
        continue; // another scheme (a future version): not ours to check
      }
      byte[] given;
      try {
        given = Base64.getDecoder().decode(part.substring(comma + 1));
      } catch (IllegalArgumentException e) {
        continue;
      }
      for (byte[] e : expected) {
        if (MessageDigest.isEqual(e, given)) {
          return new Event(webhookId, ts, new String(body, StandardCharsets.UTF_8));
        }
      }
    }
    throw new VerificationException(
        "no v1 signature of webhook-signature matches the " + keys.size() + " secret(s) given");
  }

  /** True when {@link #verify(String, String, String, byte[])} accepts the delivery. */
  public boolean isValid(String webhookId, String timestamp, String signatureHeader, byte[] body) {
    try {
      verify(webhookId, timestamp, signatureHeader, body);
      return true;
    } catch (VerificationException e) {
      return false;
    }
  }

  private static byte[] hmac(byte[] key, byte[] prefix, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update(prefix);
      return mac.doFinal(body);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  private static String shorten(String s) {
    return s.length() > 20 ? s.substring(0, 20) + "..." : s;
  }

  @Override
  public String toString() {
    return "WebhookVerifier{" + keys.size() + " secret(s), tolerance " + tolerance + "}";
  }
}
