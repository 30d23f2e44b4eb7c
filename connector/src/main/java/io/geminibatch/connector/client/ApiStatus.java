package io.geminibatch.connector.client;

import java.io.Serializable;
import java.util.Objects;

/**
 * A {@code google.rpc.Status} as the service returns it in an Operation's {@code error}, in an
 * error line of a result file, or in an inlined response: a gRPC code and a message.
 */
public final class ApiStatus implements Serializable {
  private static final long serialVersionUID = 1L;

  /** gRPC codes the connector reasons about. */
  public static final int CANCELLED = 1;
  public static final int UNKNOWN = 2;
  public static final int INVALID_ARGUMENT = 3;
  public static final int DEADLINE_EXCEEDED = 4;
  public static final int NOT_FOUND = 5;
  public static final int RESOURCE_EXHAUSTED = 8;
  public static final int FAILED_PRECONDITION = 9;
  public static final int ABORTED = 10;
  public static final int INTERNAL = 13;
  public static final int UNAVAILABLE = 14;

  private final int code;
  private final String message;

  public ApiStatus(int code, String message) {
    this.code = code;
    this.message = message == null ? "" : message;
  }

  public int getCode() {
    return code;
  }

  public String getMessage() {
    return message;
  }

  /** Codes worth a second try in a new job: transient on the service's side. */
  public boolean isRetryable() {
    switch (code) {
      case CANCELLED:
      case UNKNOWN:
      case DEADLINE_EXCEEDED:
      case RESOURCE_EXHAUSTED:
      case ABORTED:
      case INTERNAL:
      case UNAVAILABLE:
        return true;
      default:
        return false;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ApiStatus
        && ((ApiStatus) o).code == code
        && ((ApiStatus) o).message.equals(message);
  }

  @Override
  public int hashCode() {
    return Objects.hash(code, message);
  }

  @Override
  public String toString() {
    return "code " + code + ": " + message;
  }
}
