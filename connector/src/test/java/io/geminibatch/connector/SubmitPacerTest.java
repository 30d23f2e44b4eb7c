package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.connector.client.GeminiClientConfig;
import org.joda.time.Duration;
import org.junit.jupiter.api.Test;

/** The pacing's places: limits by jobs and by tokens, the smallest waiting shard ids first. */
class SubmitPacerTest {
  private static BatchSettings settings(int jobs, long tokens) {
    BatchSettings s =
        new BatchSettings(
            GeminiClientConfig.builder().apiKey(ApiKeyProvider.of("k")).build(), "GENERATE", "models/m", "/tmp/s",
            100, 1 << 20, 0, 1 << 10, Duration.millis(10), null, 3, false, 1 << 20, null);
    s.queue = new QueueSettings(Duration.standardHours(1), jobs, tokens);
    return s;
  }

  private static ShardRef shard(String id, long bytes) {
    return new ShardRef(id + "0".repeat(32 - id.length()), "/tmp/x", 10, bytes, 1, false);
  }

  @Test
  void placesGoToTheFirstWaitingShardsAndFreeWhenJobsEnd() {
    BatchSettings settings = settings(2, 0);
    SubmitPacer pacer = SubmitPacer.of(settings);
    ShardRef a = shard("a", 40);
    ShardRef b = shard("b", 40);
    ShardRef c = shard("c", 40);
    ShardRef d = shard("d", 40);
    assertNull(pacer.tryAcquire(c));
    assertNull(pacer.tryAcquire(d));
    pacer.submitted(c, "batches/c");
    pacer.submitted(d, "batches/d");
    String why = pacer.tryAcquire(b);
    assertNotNull(why);
    assertTrue(why.contains("2 of at most 2 jobs active"), why);
    assertNotNull(pacer.tryAcquire(a));
    SubmitPacer.jobFinished(settings, "batches/d");
    // One place is free: b asks first, but a waits too and its id comes first.
    assertTrue(pacer.tryAcquire(b).contains("1 shards ahead"));
    assertNull(pacer.tryAcquire(a));
    pacer.released(a); // refused by the service: its place is free again
    assertNull(pacer.tryAcquire(b));
    SubmitPacer.jobFinished(settings, "batches/d"); // idempotent
    assertNotNull(pacer.tryAcquire(a));
  }

  @Test
  void tokensAreEstimatedFromBytesAndALargeShardGoesAlone() {
    SubmitPacer pacer = SubmitPacer.of(settings(0, 100));
    assertEquals(25, SubmitPacer.estimateTokens(shard("x", 100)));
    assertNull(pacer.tryAcquire(shard("a", 300)));
    assertTrue(pacer.tryAcquire(shard("b", 300)).contains("withMaxEnqueuedTokens"));
    pacer.released(shard("a", 300));
    assertNull(pacer.tryAcquire(shard("b", 300)));
    SubmitPacer huge = SubmitPacer.of(settings(0, 10));
    assertNull(huge.tryAcquire(shard("h", 1000)), "alone, a shard over the limit still goes");
    assertNull(SubmitPacer.of(settings(0, 0)), "no limits, no pacer");
  }
}
