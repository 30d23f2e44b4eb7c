package io.geminibatch.testing.vertex;

/**
 * The quirks of Vertex AI batch prediction output the emulator reproduces on demand, on top of the
 * emulator's {@link io.geminibatch.testing.Faults} (job failure, expiry, stuck jobs, per-row errors,
 * 429/503), which the Vertex jobs honour as the Gemini ones do. Output rows are always shuffled.
 *
 * @param duplicateRowRate the probability that a row is written twice (a duplicate seen live)
 * @param coerceNumericKeys echo numeric-looking string fields of an input line ({@code "000123"})
 *     as JSON numbers ({@code 123}), as observed live
 */
public record VertexFaults(double duplicateRowRate, boolean coerceNumericKeys) {
  private static final VertexFaults NONE = new VertexFaults(0, false);

  public VertexFaults {
    if (!(duplicateRowRate >= 0 && duplicateRowRate <= 1)) {
      throw new IllegalArgumentException(
          "duplicateRowRate must be a probability in [0, 1], got " + duplicateRowRate);
    }
  }

  public static VertexFaults none() {
    return NONE;
  }
}
