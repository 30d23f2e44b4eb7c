package io.geminibatch.connector.client;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Upload chunk buffers kept from one upload for the next. Every upload used to allocate a chunk
 * buffer of its own (8 MB, or the file's size when smaller): 249 MB at 300,000 prompts, arrays
 * so large that the collector places each in regions of its own. A buffer is given back
 * only by an upload whose every exchange has ended; at most {@code max} are kept.
 */
final class ChunkBuffers {
  private final int max;
  private final ArrayDeque<byte[]> kept = new ArrayDeque<>();

  ChunkBuffers(int max) {
    this.max = max;
  }

  /** A buffer of at least {@code bytes}: a kept one, or a new one of exactly that size. */
  synchronized byte[] take(int bytes) {
    for (Iterator<byte[]> it = kept.iterator(); it.hasNext(); ) {
      byte[] b = it.next();
      if (b.length >= bytes) {
        it.remove();
        return b;
      }
    }
    return new byte[bytes];
  }

  /**
   * Keeps {@code buffer} for a later upload, in place of a smaller one when {@code max} are kept.
   */
  synchronized void give(byte[] buffer) {
    if (kept.size() < max) {
      kept.push(buffer);
      return;
    }
    byte[] smallest = null;
    for (byte[] b : kept) {
      if (smallest == null || b.length < smallest.length) {
        smallest = b;
      }
    }
    if (smallest.length < buffer.length) {
      kept.remove(smallest);
      kept.push(buffer);
    }
  }
}
