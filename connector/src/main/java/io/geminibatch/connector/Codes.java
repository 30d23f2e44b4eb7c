package io.geminibatch.connector;

import io.geminibatch.connector.client.GeminiApiException;

/** Maps the REST error's status name to its {@code google.rpc.Code} number. */
final class Codes {
  private Codes() {}

  private static final String[] NAMES = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
  };

  static int of(GeminiApiException e) {
    for (int i = 0; i < NAMES.length; i++) {
      if (NAMES[i].equals(e.getStatus())) {
        return i;
      }
    }
    return 2; // UNKNOWN
  }
}
