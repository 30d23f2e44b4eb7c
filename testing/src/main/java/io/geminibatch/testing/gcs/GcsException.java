package io.geminibatch.testing.gcs;

/**
 * A Cloud Storage error, as the JSON API reports it: an HTTP status, a {@code reason} ({@code
 * notFound}, {@code conditionNotMet}, {@code forbidden}, {@code conflict}, {@code invalid}, ...)
 * and a message worded as Google words it. The HTTP front end turns it into Google's error body
 * {@code {"error": {"code": N, "message": "...", "errors": [{"message", "domain", "reason"}]}}};
 * the in-process API ({@link GcsStore}) throws it as is.
 */
public final class GcsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int httpCode;
  private final String reason;

  public GcsException(int httpCode, String reason, String message) {
    super(message, null, false, false);
    this.httpCode = httpCode;
    this.reason = reason;
  }

  /** The HTTP status the JSON API answers with. */
  public int httpCode() {
    return httpCode;
  }

  /** The {@code errors[0].reason} of Google's error body. */
  public String reason() {
    return reason;
  }

  static GcsException noSuchObject(String bucket, String name) {
    return new GcsException(404, "notFound", "No such object: " + bucket + "/" + name);
  }

  static GcsException noSuchBucket(String bucket) {
    return new GcsException(404, "notFound", "The specified bucket does not exist.");
  }

  static GcsException preconditionFailed() {
    return new GcsException(
        412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
  }

  static GcsException invalid(String message) {
    return new GcsException(400, "invalid", message);
  }

  static GcsException denied(String permission, String resource) {
    return new GcsException(
        403,
        "forbidden",
        "anonymous caller does not have " + permission + " access to the Google Cloud Storage "
            + resource + ". Permission '" + permission + "' denied on resource (or it may not exist).");
  }
}
