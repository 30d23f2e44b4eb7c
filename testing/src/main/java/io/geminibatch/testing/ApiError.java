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

  /** The live service's message for a refusal over quota (python-genai #1901, langchain4j #3942). */
  static final String QUOTA_MESSAGE =
      "You exceeded your current quota, please check your plan and billing details. For more"
          + " information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
          + " To monitor your current usage, head to: https://ai.dev/rate-limit. ";

  private static final String HELP_DETAIL =
      "{\"@type\": \"type.googleapis.com/google.rpc.Help\", \"links\": [{\"description\":"
          + " \"Learn more about Gemini API quotas\", \"url\":"
          + " \"https://ai.google.dev/gemini-api/docs/rate-limits\"}]}";

  /**
   * 429 RESOURCE_EXHAUSTED for a create over a {@link Quota} limit: the live message, a line
   * naming the metric as the live service's quota replies do, and {@code google.rpc.Help} and
   * {@code google.rpc.QuotaFailure} details. The metric and quota id names are the emulator's
   * (the live names of the batch quotas are not published).
   */
  static ApiError quotaExceeded(String metric, String quotaId, long limit, String modelId) {
    String dimensions =
        modelId == null
            ? "{\"location\": \"global\"}"
            : "{\"location\": \"global\", \"model\": " + Json.quote(modelId) + "}";
    String details =
        "[" + HELP_DETAIL + ", {\"@type\": \"type.googleapis.com/google.rpc.QuotaFailure\","
            + " \"violations\": [{\"quotaMetric\": " + Json.quote(metric) + ", \"quotaId\": "
            + Json.quote(quotaId) + ", \"quotaDimensions\": " + dimensions + ", \"quotaValue\": \""
            + limit + "\"}]}]";
    String message =
        QUOTA_MESSAGE + "\n* Quota exceeded for metric: " + metric + ", limit: " + limit
            + (modelId == null ? "" : ", model: " + modelId);
    return new ApiError(429, "RESOURCE_EXHAUSTED", message, details, Map.of());
  }

  /** 429 RESOURCE_EXHAUSTED below every limit, as users report it: the message and Help only. */
  static ApiError quotaRefusedSpuriously() {
    return new ApiError(429, "RESOURCE_EXHAUSTED", QUOTA_MESSAGE, "[" + HELP_DETAIL + "]", Map.of());
  }

  /** Google's generic reply for a resource that does not exist (or is not the caller's). */
  public static ApiError entityNotFound() {
    return notFound("Requested entity was not found.");
  }
}
