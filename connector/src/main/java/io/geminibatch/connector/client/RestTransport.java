package io.geminibatch.connector.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side every REST backend shares: one JDK {@link HttpClient}, an authorization header
 * per request, Google's error bodies turned into {@link GeminiApiException}, and retries of
 * idempotent calls (408, 429, 5xx, dropped connections) with full-jitter backoff honouring {@code
 * Retry-After}. The credential (API key or access token) is redacted from every message.
 */
final class RestTransport {
  private static final Logger LOG = LoggerFactory.getLogger(RestTransport.class);
  private static final int ERROR_BODY_LIMIT = 64 * 1024;

  /** Waits between tries; tests pass one that waits not at all. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  static final Sleeper THREAD_SLEEPER = d -> TimeUnit.NANOSECONDS.sleep(d.toNanos());

  /** One try of a call. */
  @FunctionalInterface
  interface Attempt<T> {
    T run() throws IOException;
  }

  /** Reads a 2xx reply. */
  @FunctionalInterface
  interface ReplyReader<T> {
    T read(HttpResponse<InputStream> reply, InputStream body) throws IOException;
  }

  /** The authorization header of a request: a name and its current value (the secret). */
  interface Credential {
    String headerName();

    /** The value to send now (an access token may be refreshed meanwhile). */
    String headerValue() throws IOException;

    /** The part of the value never to show in a message. */
    String secret();
  }

  private final GeminiClientConfig config;
  private final Credential credential;
  private final Sleeper sleeper;
  final HttpClient http;

  RestTransport(GeminiClientConfig config, Credential credential, Sleeper sleeper) {
    this.config = config;
    this.credential = credential;
    this.sleeper = sleeper;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(config.getConnectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** A request with the timeout for its reply's headers (not its body) and the credential. */
  HttpRequest.Builder request(URI uri) throws IOException {
    return HttpRequest.newBuilder(uri)
        .timeout(config.getRequestTimeout())
        .header(credential.headerName(), credential.headerValue());
  }

  /** Sends once; a non-2xx reply becomes a {@link GeminiApiException}. The body is unread. */
  HttpResponse<InputStream> open(String call, HttpRequest request) throws IOException {
    HttpResponse<InputStream> reply;
    try {
      reply = http.send(request, BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(call + " interrupted");
    }
    if (reply.statusCode() / 100 == 2) {
      return reply;
    }
    byte[] body;
    try (InputStream in = reply.body()) {
      body = in.readNBytes(ERROR_BODY_LIMIT);
    }
    Duration retryAfter = null;
    Optional<String> header = reply.headers().firstValue("Retry-After");
    if (header.isPresent() && header.get().trim().matches("\\d{1,9}")) {
      retryAfter = Duration.ofSeconds(Long.parseLong(header.get().trim()));
    }
    throw ApiJson.error(call, reply.statusCode(), body, retryAfter, credential.secret());
  }

  /**
   * Sends once and reads the reply; the rest of the body is drained so the connection is reused.
   */
  <T> T exchange(String call, HttpRequest request, ReplyReader<T> reader) throws IOException {
    HttpResponse<InputStream> reply = open(call, request);
    try (InputStream body = reply.body()) {
      T result = reader.read(reply, body);
      body.transferTo(OutputStream.nullOutputStream());
      return result;
    }
  }

  /** Runs an idempotent call, retrying 408, 429, 5xx and transport failures. */
  <T> T retrying(String call, Attempt<T> attempt) throws IOException {
    for (int retry = 0; ; retry++) {
      try {
        return attempt.run();
      } catch (IOException e) {
        if (retry >= config.getMaxRetries() || !isRetryable(e)) {
          throw named(call, e);
        }
        backoff(call, retry, e);
      }
    }
  }

  /**
   * Full-jitter exponential backoff: a uniform pause up to {@code initialBackoff * 2^retry}, capped
   * at {@code maxBackoff}; a {@code Retry-After} is a floor.
   */
  void backoff(String call, int retry, IOException cause) throws IOException {
    Duration cap = config.getInitialBackoff().multipliedBy(1L << Math.min(retry, 30));
    if (cap.compareTo(config.getMaxBackoff()) > 0) {
      cap = config.getMaxBackoff();
    }
    Duration pause = Duration.ofNanos(ThreadLocalRandom.current().nextLong(cap.toNanos() + 1));
    if (cause instanceof GeminiApiException) {
      Duration floor = ((GeminiApiException) cause).getRetryAfter();
      if (floor != null && floor.compareTo(pause) > 0) {
        pause = floor;
      }
    }
    LOG.info(
        "{} (retry {} of {} in {} ms)",
        named(call, cause).getMessage(),
        retry + 1,
        config.getMaxRetries(),
        pause.toMillis());
    try {
      sleeper.sleep(pause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(call + " interrupted while backing off");
    }
  }

  /** Transport failures and 408/429/5xx; not malformed replies, protocol breaches or interrupts. */
  static boolean isRetryable(IOException e) {
    if (e instanceof GeminiApiException) {
      return ((GeminiApiException) e).isRetryable();
    }
    return !(e instanceof JsonProcessingException)
        && !(e instanceof ProtocolException)
        && !Thread.currentThread().isInterrupted();
  }

  /** Service errors and interrupts name their call already; other failures get its name, once. */
  static IOException named(String call, IOException e) {
    if (e instanceof GeminiApiException
        || e instanceof InterruptedIOException
        || e instanceof CallFailedException) {
      return e;
    }
    return new CallFailedException(call, e);
  }

  /** A transport or protocol failure, named after its call. */
  private static final class CallFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    CallFailedException(String call, IOException cause) {
      super(call + " failed: " + cause, cause);
    }
  }

  /** The call's result, or empty when the service says 404. */
  static <T> Optional<T> unlessNotFound(Attempt<T> attempt) throws IOException {
    try {
      return Optional.of(attempt.run());
    } catch (GeminiApiException e) {
      if (e.isNotFound()) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** An idempotent DELETE, retried; false when the service says 404 (already gone). */
  boolean delete(String call, HttpRequest delete) throws IOException {
    return unlessNotFound(() -> retrying(call, () -> exchange(call, delete, (r, in) -> true))).isPresent();
  }

  /** Closes the connection pool (Java 21+). */
  void close() {
    if (http instanceof AutoCloseable) {
      try {
        ((AutoCloseable) http).close();
      } catch (Exception e) {
        LOG.warn("Closing an HTTP client failed", e);
      }
    }
  }
}
