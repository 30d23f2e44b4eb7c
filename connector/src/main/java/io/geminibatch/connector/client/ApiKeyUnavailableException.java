package io.geminibatch.connector.client;

/**
 * The configured {@link ApiKeyProvider} could not give the key (a missing or unreadable secret or
 * file): the message names the source and what to do, never a key.
 */
public final class ApiKeyUnavailableException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public ApiKeyUnavailableException(String message) {
    super(message);
  }

  public ApiKeyUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
