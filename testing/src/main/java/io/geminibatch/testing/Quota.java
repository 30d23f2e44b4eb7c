package io.geminibatch.testing;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The Batch API's quota, as the emulator enforces it: an immutable value, built with {@link
 * #builder()}; {@link #none()} limits nothing.
 *
 * <ul>
 *   <li>{@code maxActiveJobs}: batch jobs of one API key that may be PENDING or RUNNING at once
 *       (the live service counts per project: "concurrent batch requests").
 *   <li>{@code enqueuedTokenLimit}: prompt tokens of one API key's PENDING and RUNNING jobs of one
 *       model, counted as {@link EmulatorResponder} counts {@code promptTokenCount}; a default for
 *       every model, and optionally a limit per model ({@code gemini-2.5-flash}).
 * </ul>
 *
 * A create that would go over either limit is refused with 429 {@code RESOURCE_EXHAUSTED} and
 * creates nothing. 0 means no limit.
 */
public final class Quota {
  private static final Quota NONE = new Builder().build();

  private final int maxActiveJobs;
  private final long enqueuedTokenLimit;
  private final Map<String, Long> enqueuedTokenLimits;

  private Quota(Builder b) {
    this.maxActiveJobs = b.maxActiveJobs;
    this.enqueuedTokenLimit = b.enqueuedTokenLimit;
    this.enqueuedTokenLimits = Map.copyOf(b.enqueuedTokenLimits);
  }

  public static Quota none() {
    return NONE;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxActiveJobs = maxActiveJobs;
    b.enqueuedTokenLimit = enqueuedTokenLimit;
    b.enqueuedTokenLimits.putAll(enqueuedTokenLimits);
    return b;
  }

  /** Jobs PENDING or RUNNING at once per API key; 0 for no limit. */
  public int maxActiveJobs() {
    return maxActiveJobs;
  }

  /** Enqueued prompt tokens per API key and model, for models without their own limit; 0 for none. */
  public long enqueuedTokenLimit() {
    return enqueuedTokenLimit;
  }

  /** Model id (without {@code models/}) → its own enqueued-token limit. */
  public Map<String, Long> enqueuedTokenLimits() {
    return new TreeMap<>(enqueuedTokenLimits);
  }

  /** The enqueued-token limit of {@code model} ({@code models/x} or {@code x}); 0 for none. */
  public long enqueuedTokenLimit(String model) {
    Long own = enqueuedTokenLimits.get(EmulatorResponder.modelId(model));
    return own != null ? own : enqueuedTokenLimit;
  }

  /** True when some model has an enqueued-token limit (only then are tokens counted at create). */
  boolean limitsTokens() {
    return enqueuedTokenLimit > 0 || enqueuedTokenLimits.values().stream().anyMatch(v -> v > 0);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Quota)) {
      return false;
    }
    Quota q = (Quota) o;
    return maxActiveJobs == q.maxActiveJobs
        && enqueuedTokenLimit == q.enqueuedTokenLimit
        && enqueuedTokenLimits.equals(q.enqueuedTokenLimits);
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxActiveJobs, enqueuedTokenLimit, enqueuedTokenLimits);
  }

  @Override
  public String toString() {
    return "Quota{maxActiveJobs=" + maxActiveJobs + ", enqueuedTokenLimit=" + enqueuedTokenLimit
        + ", enqueuedTokenLimits=" + new TreeMap<>(enqueuedTokenLimits) + "}";
  }

  /** Builds a {@link Quota}; every setter validates its argument. */
  public static final class Builder {
    private int maxActiveJobs;
    private long enqueuedTokenLimit;
    private final Map<String, Long> enqueuedTokenLimits = new TreeMap<>();

    private Builder() {}

    public Builder maxActiveJobs(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("maxActiveJobs must be >= 0 (0: no limit), got " + n);
      }
      this.maxActiveJobs = n;
      return this;
    }

    public Builder enqueuedTokenLimit(long tokens) {
      this.enqueuedTokenLimit = tokens("enqueuedTokenLimit", tokens);
      return this;
    }

    /** A limit for one model ({@code gemini-2.5-flash} or {@code models/gemini-2.5-flash}). */
    public Builder enqueuedTokenLimit(String model, long tokens) {
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("enqueuedTokenLimit: model must be non-empty");
      }
      enqueuedTokenLimits.put(EmulatorResponder.modelId(model.trim()), tokens("enqueuedTokenLimit", tokens));
      return this;
    }

    /**
     * Parses {@code T} (every model) or {@code MODEL=T[,MODEL=T...]} (per model; a bare {@code T}
     * in the list is the default), as the {@code --enqueued-token-limit} flag takes it.
     */
    public Builder enqueuedTokenLimits(String spec) {
      for (String part : spec.split(",")) {
        String p = part.trim();
        int eq = p.indexOf('=');
        try {
          if (eq < 0) {
            enqueuedTokenLimit(Long.parseLong(p));
          } else {
            enqueuedTokenLimit(p.substring(0, eq), Long.parseLong(p.substring(eq + 1).trim()));
          }
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              "enqueuedTokenLimit: expected TOKENS or MODEL=TOKENS, got '" + p + "'");
        }
      }
      return this;
    }

    public Quota build() {
      return new Quota(this);
    }

    private static long tokens(String field, long v) {
      if (v < 0) {
        throw new IllegalArgumentException(field + " must be >= 0 (0: no limit), got " + v);
      }
      return v;
    }
  }
}
