package io.geminibatch.testing;

import java.util.EnumMap;
import java.util.SplittableRandom;

/**
 * One seeded random stream per fault kind, so that a given seed and call sequence reproduce the
 * same faults, whatever other faults are enabled.
 */
final class FaultDice {
  enum Stream {
    THROTTLE,
    UNAVAILABLE,
    JOB_FAILURE,
    JOB_EXPIRY,
    STUCK_JOB,
    REQUEST_ERROR,
    DROP_DOWNLOAD,
    LOST_CREATE_REPLY,
    REORDER_INLINE,
    SPURIOUS_QUOTA_REFUSAL,
    WEBHOOK_DUPLICATE,
    WEBHOOK_DELAY
  }

  private final EnumMap<Stream, SplittableRandom> streams = new EnumMap<>(Stream.class);

  FaultDice(long seed) {
    reseed(seed);
  }

  synchronized void reseed(long seed) {
    for (Stream s : Stream.values()) {
      // Distinct, well-mixed seeds per stream (SplittableRandom mixes its seed again).
      streams.put(s, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + s.ordinal() * 0x632BE59BD9B4E019L));
    }
  }

  /** True with probability {@code rate}; draws only when the rate is positive. */
  synchronized boolean roll(Stream s, double rate) {
    return rate > 0 && streams.get(s).nextDouble() < rate;
  }

  /** A seed for a job's own stream (its per-request errors, its shuffle). */
  synchronized long nextSeed(Stream s) {
    return streams.get(s).nextLong();
  }
}
