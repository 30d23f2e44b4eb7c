package io.geminibatch.connector.client;

import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;

/**
 * A request body that hands the HTTP client slices of an array in place, where {@code
 * BodyPublishers.ofByteArray} copies every byte into new buffers first (3% of a large upload's
 * CPU). The array must not change until the exchange is over.
 */
final class ArraySlicePublisher implements HttpRequest.BodyPublisher {
  private static final int SLICE = 256 * 1024;
  private final byte[] bytes;
  private final int offset;
  private final int length;

  ArraySlicePublisher(byte[] bytes, int offset, int length) {
    if (offset < 0 || length < 0 || offset + length > bytes.length) {
      throw new IndexOutOfBoundsException("slice [" + offset + ", " + (offset + length) + ") of " + bytes.length + " bytes");
    }
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
  }

  @Override
  public long contentLength() {
    return length;
  }

  @Override
  public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
    subscriber.onSubscribe(new Slices(subscriber));
  }

  /** Emits on the thread that asks, never re-entering the subscriber from inside onNext. */
  private final class Slices implements Flow.Subscription {
    private final Flow.Subscriber<? super ByteBuffer> subscriber;
    private final int end = offset + length;
    private int next = offset;
    private long demand;
    private boolean emitting;
    private boolean finished;

    Slices(Flow.Subscriber<? super ByteBuffer> subscriber) {
      this.subscriber = subscriber;
    }

    @Override
    public void request(long n) {
      synchronized (this) {
        if (finished) {
          return;
        }
        if (n <= 0) {
          finished = true;
        } else {
          demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
          if (emitting) {
            return; // the loop below, further up this stack or on another thread, goes on
          }
          emitting = true;
        }
      }
      if (n <= 0) {
        subscriber.onError(new IllegalArgumentException("request(" + n + "): demand must be positive"));
        return;
      }
      while (true) {
        ByteBuffer slice;
        synchronized (this) {
          if (finished) {
            emitting = false;
            return;
          }
          if (next >= end) {
            finished = true;
            emitting = false;
            slice = null;
          } else if (demand == 0) {
            emitting = false;
            return;
          } else {
            demand--;
            int len = Math.min(SLICE, end - next);
            slice = ByteBuffer.wrap(bytes, next, len).slice();
            next += len;
          }
        }
        if (slice == null) {
          subscriber.onComplete();
          return;
        }
        subscriber.onNext(slice);
      }
    }

    @Override
    public synchronized void cancel() {
      finished = true;
    }
  }
}
