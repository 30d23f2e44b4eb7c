package io.geminibatch.testing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Eight bytes at a time: a little-endian long read from a byte array, and masks whose high bit is
 * set in every byte that matches. The lowest set bit is always a true match (a borrow only
 * carries towards higher bytes, past a byte that matched), so {@link #firstByte(long)} of a
 * nonzero mask is the first matching byte.
 */
final class Swar {
  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  static final long ONES = 0x0101010101010101L;
  static final long HIGH = 0x8080808080808080L;

  private Swar() {}

  static long word(byte[] b, int at) {
    return (long) LONG.get(b, at);
  }

  /** High bit of each byte equal to {@code value}. */
  static long eq(long w, int value) {
    long x = w ^ (ONES * value);
    return (x - ONES) & ~x & HIGH;
  }

  /** High bit of each byte (unsigned) below {@code n} (n at most 128). */
  static long below(long w, int n) {
    return (w - ONES * n) & ~w & HIGH;
  }

  /** Index (0..7) of the first matching byte of a nonzero mask. */
  static int firstByte(long mask) {
    return Long.numberOfTrailingZeros(mask) >>> 3;
  }

  /** The index of the first '\n' in {@code b[from, to)}, or {@code to}. */
  static int indexOfNewline(byte[] b, int from, int to) {
    int i = from;
    // sixteen bytes a step while no '\n' is in them
    for (; i + 16 <= to; i += 16) {
      long m0 = eq(word(b, i), '\n');
      long m1 = eq(word(b, i + 8), '\n');
      if ((m0 | m1) != 0) {
        return m0 != 0 ? i + firstByte(m0) : i + 8 + firstByte(m1);
      }
    }
    for (; i + 8 <= to; i += 8) {
      long m = eq(word(b, i), '\n');
      if (m != 0) {
        return i + firstByte(m);
      }
    }
    for (; i < to; i++) {
      if (b[i] == '\n') {
        return i;
      }
    }
    return to;
  }
}
