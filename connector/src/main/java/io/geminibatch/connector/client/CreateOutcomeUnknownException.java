package io.geminibatch.connector.client;

import java.io.IOException;

/**
 * A batch create whose outcome is unknown: the connection failed, or the service answered 5xx or an
 * unreadable reply, after the request may have reached it. The job may exist, so look it up by
 * display name before creating again. (A 4xx reply, 429 included, is thrown as a plain {@link
 * GeminiApiException} instead: that create created nothing.) The cause is the transport failure or
 * the {@link GeminiApiException}.
 */
public class CreateOutcomeUnknownException extends IOException {
  private static final long serialVersionUID = 1L;

  public CreateOutcomeUnknownException(String call, IOException cause) {
    super(call + " outcome unknown, the job may exist: " + cause.getMessage(), cause);
  }
}
