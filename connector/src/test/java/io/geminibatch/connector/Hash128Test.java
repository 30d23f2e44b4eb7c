package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.hash.Hashing;
import org.junit.jupiter.api.Test;

/** The shard-naming hash is MurmurHash3 x64 128, checked against Guava's (in Beam's vendored copy). */
class Hash128Test {
  @Test
  void matchesGuavasMurmur3ForEveryTailLengthOffsetAndSeed() {
    SplittableRandom random = new SplittableRandom(7);
    long[] ours = new long[2];
    for (int len = 0; len <= 100; len++) {
      byte[] b = new byte[len + 5];
      for (int i = 0; i < b.length; i++) {
        b[i] = (byte) random.nextInt(256);
      }
      for (int seed : new int[] {0, 1, 0x7fffffff}) {
        Hash128.hash(b, 3, len, seed, ours);
        byte[] theirs = Hashing.murmur3_128(seed).hashBytes(b, 3, len).asBytes();
        ByteBuffer expected = ByteBuffer.wrap(theirs).order(ByteOrder.LITTLE_ENDIAN);
        assertArrayEquals(new long[] {expected.getLong(), expected.getLong()}, ours, "length " + len + ", seed " + seed);
      }
    }
  }
}
