package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** How measured key buckets become shards. */
class ShardPacksTest {
  private static long[] sizes(long... countAndBytesPerBucket) {
    long[] sizes = new long[2 * Pack.BUCKETS];
    System.arraycopy(countAndBytesPerBucket, 0, sizes, 0, countAndBytesPerBucket.length);
    return sizes;
  }

  @Test
  void consecutiveBucketsFillAShardUpToEitherLimit() {
    // Buckets 0..3: 40, 50, 20, 30 requests; bucket 4 empty; bucket 5: 10 requests of 900 bytes.
    int[][] g = ShardPacks.groups(sizes(40, 400, 50, 500, 20, 200, 30, 300, 0, 0, 10, 900), 100, 1000);
    assertArrayEquals(new int[] {0, 0, 1, 1, 0, 2}, Arrays.copyOf(g[0], 6), "groups");
    assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1}, Arrays.copyOf(g[1], 6), "parts");
  }

  @Test
  void aBucketOverALimitIsOneGroupInParts() {
    int[][] g = ShardPacks.groups(sizes(10, 100, 250, 2500, 10, 100), 100, 1_000_000);
    assertArrayEquals(new int[] {0, 1, 2}, Arrays.copyOf(g[0], 3));
    // 250 requests at 100 a job, with headroom for uneven hashing: 3 parts.
    assertEquals(3, g[1][1]);
  }
}
