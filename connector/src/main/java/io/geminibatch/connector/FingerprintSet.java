package io.geminibatch.connector;

import java.nio.charset.StandardCharsets;

/**
 * A set of keys held as 128-bit fingerprints (16 bytes a key, in one array), for telling a key seen
 * twice in a result file of millions of lines without holding the keys themselves. Two distinct
 * keys share a fingerprint with a chance of about n² / 2¹²⁹: never, in practice.
 */
final class FingerprintSet {
  private long[] table = new long[2 * 1024];
  private int size;
  private final long[] hash = new long[2];

  /** Adds {@code key}; false when it was there already. */
  boolean add(String key) {
    fingerprint(key);
    return add(hash[0], hash[1]);
  }

  /** Adds a fingerprint computed elsewhere; false when it was there already. */
  boolean add(long a, long b) {
    if (a == 0 && b == 0) {
      b = 1; // (0, 0) marks an empty slot
    }
    if ((size + 1) * 10L > (table.length / 2) * 7L) {
      grow(); // at most 70% of the slots in use, so probes stay short
    }
    if (!insert(table, a, b)) {
      return false;
    }
    size++;
    return true;
  }

  boolean contains(String key) {
    fingerprint(key);
    int mask = table.length / 2 - 1;
    for (int i = slot(hash[1], mask); ; i = (i + 1) & mask) {
      long a = table[2 * i];
      long b = table[2 * i + 1];
      if (a == 0 && b == 0) {
        return false;
      }
      if (a == hash[0] && b == hash[1]) {
        return true;
      }
    }
  }

  int size() {
    return size;
  }

  private void fingerprint(String key) {
    byte[] b = key.getBytes(StandardCharsets.UTF_8);
    Hash128.hash(b, 0, b.length, 0, hash);
    if (hash[0] == 0 && hash[1] == 0) {
      hash[1] = 1;
    }
  }

  /**
   * Where a fingerprint's probe starts: from its second half, since callers may use the low bits
   * of the first for something else (packs bucket keys by them).
   */
  private static int slot(long b, int mask) {
    return (int) (b ^ (b >>> 32)) & mask;
  }

  /** Inserts into an open-addressing table of pairs; false when the pair is there. */
  private static boolean insert(long[] table, long a, long b) {
    int mask = table.length / 2 - 1;
    for (int i = slot(b, mask); ; i = (i + 1) & mask) {
      long x = table[2 * i];
      long y = table[2 * i + 1];
      if (x == 0 && y == 0) {
        table[2 * i] = a;
        table[2 * i + 1] = b;
        return true;
      }
      if (x == a && y == b) {
        return false;
      }
    }
  }

  private void grow() {
    long[] bigger = new long[table.length * 2];
    for (int i = 0; i < table.length; i += 2) {
      if (table[i] != 0 || table[i + 1] != 0) {
        insert(bigger, table[i], table[i + 1]);
      }
    }
    table = bigger;
  }
}
