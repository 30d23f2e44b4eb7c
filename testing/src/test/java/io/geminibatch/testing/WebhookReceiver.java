package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A webhook endpoint for the tests, on loopback: records every POST it receives and answers each
 * with the status {@code answer} gives. Its own HMAC check (not the emulator's code) verifies them.
 */
final class WebhookReceiver implements AutoCloseable {
  /** One received delivery. */
  record Delivery(String id, String timestamp, String signature, byte[] body) {
    JsonNode json() {
      try {
        return Http.JSON.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** The {@code v1,...} signatures of the header that verify under {@code secret}. */
    long validSignatures(String secret) {
      String expected = "v1," + hmac(secret, id + "." + timestamp + ".", body);
      long n = 0;
      for (String s : signature.split(" ")) {
        if (s.equals(expected)) {
          n++;
        }
      }
      return n;
    }

    int signatureCount() {
      return signature.split(" ").length;
    }
  }

  private final HttpServer server;
  private final BlockingQueue<Delivery> received = new LinkedBlockingQueue<>();
  private volatile IntSupplier answer = () -> 204;

  WebhookReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            byte[] body = ex.getRequestBody().readAllBytes();
            var h = ex.getRequestHeaders();
            received.add(
                new Delivery(
                    h.getFirst("webhook-id"),
                    h.getFirst("webhook-timestamp"),
                    h.getFirst("webhook-signature"),
                    body));
            ex.sendResponseHeaders(answer.getAsInt(), -1);
          }
        });
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
  }

  void answer(IntSupplier statuses) {
    this.answer = statuses;
  }

  /** The next delivery; fails after 20 s without one. */
  Delivery next() throws InterruptedException {
    Delivery d = received.poll(20, TimeUnit.SECONDS);
    assertNotNull(d, "no webhook delivery within 20 s");
    return d;
  }

  List<Delivery> next(int n) throws InterruptedException {
    List<Delivery> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(next());
    }
    return out;
  }

  int pending() {
    return received.size();
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }

  static String hmac(String whsec, String prefix, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      byte[] key = Base64.getDecoder().decode(whsec.substring("whsec_".length()));
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update(prefix.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
