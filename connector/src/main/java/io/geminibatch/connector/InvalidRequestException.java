package io.geminibatch.connector;

/** A request the connector will not send; the message names the field and the value. */
final class InvalidRequestException extends Exception {
  private static final long serialVersionUID = 1L;

  InvalidRequestException(String message) {
    super(message);
  }
}
