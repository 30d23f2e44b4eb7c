package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The cost estimate of the summary. */
class PricesTest {
  @Test
  void costIsHalfTheInteractivePrice() {
    // 1M input at $0.15 + 1M output at $1.25 (half of $0.30 and $2.50).
    String estimate = Prices.estimate("models/gemini-2.5-flash", 1_000_000, 1_000_000);
    assertEquals(
        "estimated cost $1.4000 (gemini-2.5-flash batch price: $0.15/M input, $1.25/M output tokens,"
            + " half the interactive price; an estimate, not a bill)",
        estimate);
    assertTrue(Prices.estimate("gemini-2.5-flash-lite-preview", 1, 1).contains("gemini-2.5-flash-lite batch"));
    assertEquals("no cost estimate: no price known for my-tuned-model", Prices.estimate("my-tuned-model", 1, 1));
  }
}
