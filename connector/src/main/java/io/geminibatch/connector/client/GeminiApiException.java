package io.geminibatch.connector.client;

import java.io.IOException;
import java.time.Duration;

/**
 * An error reply of the Gemini API ({@code {"error": {"code", "message", "status"}}}). The message
 * never carries the API key: the client builds it from the reply body and the request's method
 * and path only.
 */
public class GeminiApiException extends IOException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;
  private final String status;
  private final String serviceMessage;
  private final Duration retryAfter;

  public GeminiApiException(
      String call, int httpStatus, String status, String serviceMessage, Duration retryAfter) {
    super(call + " failed: HTTP " + httpStatus + " " + status + ": " + serviceMessage);
    this.httpStatus = httpStatus;
    this.status = status;
    this.serviceMessage = serviceMessage;
    this.retryAfter = retryAfter;
  }

  /** The HTTP status code, e.g. 404. */
  public int getHttpStatus() {
    return httpStatus;
  }

  /** The canonical status name, e.g. {@code NOT_FOUND}. */
  public String getStatus() {
    return status;
  }

  /** The service's own message. */
  public String getServiceMessage() {
    return serviceMessage;
  }

  /** The reply's {@code Retry-After}, or null. */
  public Duration getRetryAfter() {
    return retryAfter;
  }

  public boolean isNotFound() {
    return httpStatus == 404;
  }

  /** 408, 429 and 5xx: worth another try of an idempotent call after a pause. */
  public boolean isRetryable() {
    return httpStatus == 408 || httpStatus == 429 || httpStatus >= 500;
  }
}
