package io.geminibatch.testing;

import java.util.Map;

/**
 * An error the emulator answers with, in the service's shape: {@code {"error": {"code": N,
 * "message": "...", "status": "..."}}}, plus optional raw {@code details} and reply headers.
 *
 * <p>Public so that the handlers of the emulated APIs in sub-packages (webhooks, ...) can throw it;
 * {@link ApiHandler} answers it the same way for every API.
 */
public final class ApiError extends RuntimeException {
  final int httpCode;
  final String status;
  /** Raw JSON array for {@code error.details}, or null. */
  final String detailsJson;
  final Map<String, String> headers;

  ApiError(int httpCode, String status, String message, String detailsJson, Map<String, String> headers) {
    super(message, null, false, false);
    this.httpCode = httpCode;
    this.status = status;
    this.detailsJson = detailsJson;
    this.headers = headers;
  }

  public ApiError(int httpCode, String status, String message) {
    this(httpCode, status, message, null, Map.of());
  }

  public static ApiError invalidArgument(String message) {
    return new ApiError(400, "INVALID_ARGUMENT", message);
  }

  public static ApiError notFound(String message) {
    return new ApiError(404, "NOT_FOUND", message);
  }

  public static ApiError alreadyExists(String message) {
    return new ApiError(409, "ALREADY_EXISTS", message);
  }

  public static ApiError failedPrecondition(String message) {
    return new ApiError(400, "FAILED_PRECONDITION", message);
  }

  /** Google's generic reply for a resource that does not exist (or is not the caller's). */
  public static ApiError entityNotFound() {
    return notFound("Requested entity was not found.");
  }
}
