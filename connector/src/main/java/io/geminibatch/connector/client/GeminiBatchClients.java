package io.geminibatch.connector.client;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Live clients shared per JVM, one per equal {@link GeminiClientConfig}: transforms call {@link
 * #forConfig} in {@code @Setup} (the JdbcIO pattern), so all DoFn instances of a worker share a
 * connection pool. The API key is read once, when a config's client is first built. The backend
 * is the config's choice: the Gemini API, or Vertex AI when it has a {@link VertexTarget}.
 */
public final class GeminiBatchClients {
  private static final ConcurrentHashMap<GeminiClientConfig, GeminiBatchClient> CLIENTS =
      new ConcurrentHashMap<>();

  private GeminiBatchClients() {}

  /**
   * The shared, thread-safe client for {@code config}. Its {@link GeminiBatchClient#close()} does
   * nothing, so one holder closing it never breaks the others.
   */
  public static GeminiBatchClient forConfig(GeminiClientConfig config) {
    return CLIENTS.computeIfAbsent(
        config,
        c -> c.getVertex() != null
            ? new VertexBatchClient(c, RestTransport.THREAD_SLEEPER, false)
            : new HttpGeminiBatchClient(c, RestTransport.THREAD_SLEEPER, false));
  }
}
