package io.geminibatch.pipelines;

import io.geminibatch.connector.client.ApiKeyUnavailableException;
import io.geminibatch.connector.client.GeminiApiException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;

/** One-line descriptions of failures, for people: never a stack trace, never the API key. */
final class Errors {
  private Errors() {}

  /**
   * {@code e} as is when the service answered (its message names the call and the reply), else a
   * failure to reach {@code baseUrl}, said in one line that names it.
   */
  static IOException reaching(String baseUrl, IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof GeminiApiException) {
        return e;
      }
    }
    return new IOException(baseUrl + ": " + describe(e));
  }

  /** What went wrong, from the most telling exception in {@code e}'s causes. */
  static String describe(Throwable e) {
    String storage = CloudStorageChecks.describeIfStorage(e);
    if (storage != null) {
      return storage;
    }
    Throwable root = e;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof GeminiApiException) {
        return describeApi((GeminiApiException) t);
      }
      if (t instanceof ApiKeyUnavailableException) {
        return t.getMessage();
      }
      if (t instanceof ConnectException) {
        return "cannot connect to the service: connection refused";
      }
      if (t instanceof HttpConnectTimeoutException) {
        return "cannot connect to the service: connection timed out";
      }
      if (t instanceof HttpTimeoutException) {
        return "the service did not answer in time";
      }
      if (t instanceof UnknownHostException) {
        return "cannot connect to the service: unknown host " + t.getMessage();
      }
      root = t;
    }
    String message = root.getMessage();
    String text = message == null || message.isBlank() ? root.getClass().getSimpleName() : message;
    return text.lines().findFirst().orElse(text);
  }

  private static String describeApi(GeminiApiException e) {
    int status = e.getHttpStatus();
    boolean keyProblem =
        status == 401 || status == 403 || e.getServiceMessage().toLowerCase().contains("api key");
    return (keyProblem ? "the service refused the API key: " : "") + e.getMessage();
  }
}
