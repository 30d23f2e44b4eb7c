package io.geminibatch.testing.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks signing, as the Gemini API's static webhooks use it: the key is the
 * base64-decoded part of a {@code whsec_} secret, the signed content is {@code
 * "<webhook-id>.<webhook-timestamp>.<raw body>"}, and {@code webhook-signature} holds one {@code
 * v1,<base64 HMAC-SHA256>} per valid secret, separated by spaces.
 */
public final class Signing {
  /** The prefix of every signing secret. */
  public static final String PREFIX = "whsec_";

  private static final SecureRandom RANDOM = new SecureRandom();

  private Signing() {}

  /** A new secret: {@code whsec_} and the base64 of 32 random bytes. */
  public static String newSecret() {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    return PREFIX + Base64.getEncoder().encodeToString(key);
  }

  /** The HMAC key of a {@code whsec_} secret; IllegalArgumentException when it is not one. */
  public static byte[] key(String secret) {
    if (secret == null || !secret.startsWith(PREFIX)) {
      throw new IllegalArgumentException("a webhook signing secret starts with " + PREFIX);
    }
    byte[] key;
    try {
      key = Base64.getDecoder().decode(secret.substring(PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a webhook signing secret is whsec_ and base64", e);
    }
    if (key.length == 0) {
      throw new IllegalArgumentException("a webhook signing secret has a non-empty key");
    }
    return key;
  }

  /** {@code v1,<base64 HMAC-SHA256 of id.timestamp.body>} under one secret. */
  public static String sign(String secret, String webhookId, long timestamp, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key(secret), "HmacSHA256"));
      mac.update((webhookId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
      return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** The {@code webhook-signature} header: one signature per secret, separated by spaces. */
  public static String header(List<String> secrets, String webhookId, long timestamp, byte[] body) {
    StringBuilder sb = new StringBuilder();
    for (String s : secrets) {
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append(sign(s, webhookId, timestamp, body));
    }
    return sb.toString();
  }

  /** Random lowercase letters and digits. */
  static String randomId(int length) {
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }
}
