package io.geminibatch.connector;

import java.io.Serializable;
import java.util.function.Consumer;

/**
 * Turns an input element into the request to send, or reports it to {@code failures} and gives
 * null: validation of the transform's input, or nothing for requests already validated (retries).
 */
@FunctionalInterface
interface RequestSource<T> extends Serializable {
  KeyedRequest request(T input, Consumer<GenerateFailure> failures);

  /** Updates the metrics counted since the last call (once per bundle). */
  default void flushMetrics() {}

  /** Requests already validated, as they are. */
  static RequestSource<KeyedRequest> validated() {
    return (r, failures) -> r;
  }
}
