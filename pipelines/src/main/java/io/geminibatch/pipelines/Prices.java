package io.geminibatch.pipelines;

import java.util.Locale;
import java.util.Map;

/**
 * What a run would cost at the Batch API's price, which is half the interactive one. The table
 * holds the interactive list prices in US dollars per million text tokens (paid tier, prompts up
 * to 200k tokens) as Google published them in 2025; prices change, cached tokens, audio and
 * long prompts are priced differently, so the figure is an estimate, never a bill.
 */
final class Prices {
  /** Model id prefix -> {input, output} dollars per million tokens, interactive. */
  private static final Map<String, double[]> INTERACTIVE =
      Map.of(
          "gemini-2.5-pro", new double[] {1.25, 10.00},
          "gemini-2.5-flash", new double[] {0.30, 2.50},
          "gemini-2.5-flash-lite", new double[] {0.10, 0.40},
          "gemini-2.0-flash", new double[] {0.10, 0.40},
          "gemini-2.0-flash-lite", new double[] {0.075, 0.30},
          "gemini-embedding-001", new double[] {0.15, 0.0});

  /** The Batch API's discount. */
  static final double BATCH_FACTOR = 0.5;

  private Prices() {}

  /**
   * One line on the estimated cost, e.g. {@code estimated cost $0.0042 (gemini-2.5-flash batch
   * price: $0.15/M input, $1.25/M output tokens, half the interactive price; ...)}.
   */
  static String estimate(String model, long inputTokens, long outputTokens) {
    String id = model.startsWith("models/") ? model.substring("models/".length()) : model;
    String best = null;
    for (String prefix : INTERACTIVE.keySet()) {
      if (id.startsWith(prefix) && (best == null || prefix.length() > best.length())) {
        best = prefix;
      }
    }
    if (best == null) {
      return "no cost estimate: no price known for " + id;
    }
    double in = INTERACTIVE.get(best)[0] * BATCH_FACTOR;
    double out = INTERACTIVE.get(best)[1] * BATCH_FACTOR;
    double dollars = (inputTokens * in + outputTokens * out) / 1_000_000.0;
    return String.format(
        Locale.ROOT,
        "estimated cost %s (%s batch price: $%s/M input, $%s/M output tokens, half the"
            + " interactive price; an estimate, not a bill)",
        dollars > 0 && dollars < 0.0001 ? "< $0.0001" : String.format(Locale.ROOT, "$%.4f", dollars),
        best,
        trim(in),
        trim(out));
  }

  private static String trim(double d) {
    String s = String.format(Locale.ROOT, "%.4f", d);
    return s.replaceAll("0+$", "").replaceAll("\\.$", ".0");
  }
}
