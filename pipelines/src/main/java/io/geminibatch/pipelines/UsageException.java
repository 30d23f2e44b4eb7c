package io.geminibatch.pipelines;

/** A command line that cannot be run: its message is the one line printed (exit status 2). */
final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
