package io.geminibatch.testing;

/**
 * Thrown out of the HTTP handler to make the JDK server close the connection without (finishing
 * its) reply: the way the emulator loses a create reply or drops a download mid-body.
 */
final class AbortConnection extends RuntimeException {
  AbortConnection(String why) {
    super(why, null, false, false);
  }
}
