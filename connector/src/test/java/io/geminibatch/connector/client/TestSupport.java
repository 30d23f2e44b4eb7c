package io.geminibatch.connector.client;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.geminibatch.connector.client.GeminiBatchClient.ContentSource;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/** Helpers shared by the client's tests. */
final class TestSupport {
  /** Distinctive, so that finding it in a message is never a coincidence. */
  static final String KEY = "AIzaTestKey-q7Zx9-never-print-me";

  static final int CHUNK = 256 * 1024;

  private TestSupport() {}

  /** Small backoffs: retries cost milliseconds. */
  static GeminiClientConfig.Builder config(String baseUrl) {
    return GeminiClientConfig.builder()
        .baseUrl(baseUrl)
        .apiKey(ApiKeyProvider.of(KEY))
        .uploadChunkBytes(CHUNK)
        .maxRetries(10)
        .initialBackoff(Duration.ofMillis(1))
        .maxBackoff(Duration.ofMillis(10))
        .requestTimeout(Duration.ofSeconds(30));
  }

  /** Fails if the API key shows in the message or string of {@code t}, its causes or suppressed. */
  static <T extends Throwable> T assertNoKey(T t) {
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    assertNoKey(t, seen);
    return t;
  }

  private static void assertNoKey(Throwable t, Set<Throwable> seen) {
    if (t == null || !seen.add(t)) {
      return;
    }
    assertFalse(String.valueOf(t).contains(KEY), "API key in: " + t);
    assertFalse(
        String.valueOf(t.getMessage()).contains(KEY), "API key in message of " + t.getClass());
    assertNoKey(t.getCause(), seen);
    for (Throwable s : t.getSuppressed()) {
      assertNoKey(s, seen);
    }
  }

  /**
   * Content whose streams return at most {@code maxRead} bytes per read, as network and cloud
   * storage streams do; counts how often it was opened.
   */
  static final class ChoppySource implements ContentSource {
    final AtomicInteger opens = new AtomicInteger();
    private final byte[] data;
    private final int maxRead;

    ChoppySource(byte[] data, int maxRead) {
      this.data = data;
      this.maxRead = maxRead;
    }

    @Override
    public InputStream open() {
      opens.incrementAndGet();
      return new ByteArrayInputStream(data) {
        @Override
        public synchronized int read(byte[] b, int off, int len) {
          return super.read(b, off, Math.min(len, maxRead));
        }
      };
    }
  }

  static byte[] readAll(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }
}
