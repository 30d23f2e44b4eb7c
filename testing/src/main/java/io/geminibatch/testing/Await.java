package io.geminibatch.testing;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Waits for a condition, not for a time: polls it until it holds, and fails naming what was
 * awaited once the timeout has passed. The one helper the tests and the Flink cluster launcher
 * share (the emulator's state, a job's files, a cluster's REST answers).
 */
public final class Await {
  /** Between two checks: short against the seconds the awaited things take. */
  private static final long POLL_NANOS = Duration.ofMillis(20).toNanos();

  private Await() {}

  /** Returns once {@code condition} holds; throws an AssertionError after {@code timeout}. */
  public static void until(BooleanSupplier condition, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      if (Thread.currentThread().isInterrupted()) {
        throw new IllegalStateException("interrupted while waiting for " + what);
      }
      LockSupport.parkNanos(POLL_NANOS);
    }
  }
}
