package io.geminibatch.connector.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** A kept buffer serves a request it is large enough for; at most the maximum are kept, the largest. */
class ChunkBuffersTest {
  @Test
  void keptBuffersServeRequestsTheyFit() {
    ChunkBuffers pool = new ChunkBuffers(2);
    byte[] small = new byte[10];
    byte[] large = new byte[100];
    pool.give(small);
    pool.give(large);
    assertSame(large, pool.take(50), "the one that fits, not the first kept");
    byte[] fresh = pool.take(50);
    assertNotSame(small, fresh, "too small: a new one");
    assertEquals(50, fresh.length);
    assertSame(small, pool.take(10));
    assertEquals(7, pool.take(7).length, "none kept: a new one of the size asked");

    byte[] middle = new byte[60];
    pool.give(small);
    pool.give(large);
    pool.give(middle); // full: takes the smallest's place
    assertSame(middle, pool.take(60));
    assertSame(large, pool.take(1));
    assertEquals(1, pool.take(1).length, "the smallest was dropped");
  }
}
