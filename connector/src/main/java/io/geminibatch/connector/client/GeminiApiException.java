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
    super(
        call + " failed: HTTP " + httpStatus + (status == null ? "" : " " + status)
            + (serviceMessage == null || serviceMessage.isEmpty() ? "" : ": " + serviceMessage));
    this.httpStatus = httpStatus;
    this.status = status;
    this.serviceMessage = serviceMessage == null ? "" : serviceMessage;
    this.retryAfter = retryAfter;
  }

  /** The HTTP status code, e.g. 404. */
  public int getHttpStatus() {
    return httpStatus;
  }

  /** The canonical status name, e.g. {@code NOT_FOUND}, or null when the body was not JSON. */
  public String getStatus() {
    return status;
  }

  /** The service's own message, or the start of a body that was not JSON. */
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
