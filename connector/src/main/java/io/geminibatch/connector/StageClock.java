package io.geminibatch.connector;

/**
 * Times one stage's work on one element, leaving out what its outputs cost downstream: runners
 * that fuse steps (Flink, Dataflow) run the next step inside {@code output()}.
 */
final class StageClock {
  private final long start = System.nanoTime();
  private long excluded;

  /** Leaves out the time since {@code since} (a {@link System#nanoTime()} taken before an output). */
  void exclude(long since) {
    excluded += System.nanoTime() - since;
  }

  /** Milliseconds of the stage's own work so far. */
  long millis() {
    return (System.nanoTime() - start - excluded) / 1_000_000;
  }
}
