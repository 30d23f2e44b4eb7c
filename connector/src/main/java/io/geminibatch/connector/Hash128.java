package io.geminibatch.connector;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * MurmurHash3 x64 128-bit: a fast, well-mixed content hash for naming staged shards (not a
 * cryptographic one: the names only have to differ when contents differ by accident). Several
 * times faster than SHA-256 on the staging path, where every request is hashed once.
 */
final class Hash128 {
  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;

  private Hash128() {}

  /** The hash of {@code b[off, off + len)}, as {h1, h2}, into {@code out}. */
  static void hash(byte[] b, int off, int len, long seed, long[] out) {
    long h1 = seed;
    long h2 = seed;
    int end = off + (len & ~15);
    for (int i = off; i < end; i += 16) {
      h1 ^= mixK1((long) LONG.get(b, i));
      h1 = Long.rotateLeft(h1, 27) + h2;
      h1 = h1 * 5 + 0x52dce729;
      h2 ^= mixK2((long) LONG.get(b, i + 8));
      h2 = Long.rotateLeft(h2, 31) + h1;
      h2 = h2 * 5 + 0x38495ab5;
    }
    int tail = len & 15;
    if (tail > 8) {
      h2 ^= mixK2(littleEndian(b, end + 8, tail - 8));
    }
    if (tail > 0) {
      h1 ^= mixK1(littleEndian(b, end, Math.min(tail, 8)));
    }
    h1 ^= len;
    h2 ^= len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
  }

  private static long mixK1(long k) {
    return Long.rotateLeft(k * C1, 31) * C2;
  }

  private static long mixK2(long k) {
    return Long.rotateLeft(k * C2, 33) * C1;
  }

  private static long littleEndian(byte[] b, int from, int n) {
    long v = 0;
    for (int i = n - 1; i >= 0; i--) {
      v = (v << 8) | (b[from + i] & 0xffL);
    }
    return v;
  }

  private static long fmix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    return k ^ (k >>> 33);
  }
}
