package io.geminibatch.connector.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;

class ArraySlicePublisherTest {
  /** Asks for one slice at a time from inside onNext, as the JDK's HTTP client may. */
  static class Collector implements Flow.Subscriber<ByteBuffer> {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Flow.Subscription subscription;
    int slices;
    int depth;
    int maxDepth;
    boolean completed;
    Throwable error;

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(1);
    }

    @Override
    public void onNext(ByteBuffer b) {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      slices++;
      byte[] copy = new byte[b.remaining()];
      b.get(copy);
      bytes.writeBytes(copy);
      subscription.request(1);
      depth--;
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onComplete() {
      completed = true;
    }
  }

  @Test
  void handsOutTheSliceInPlaceInOrderWithoutReentering() {
    byte[] data = new byte[3 * 256 * 1024 + 17];
    new Random(1).nextBytes(data);
    ArraySlicePublisher p = new ArraySlicePublisher(data, 5, data.length - 10);
    assertEquals(data.length - 10, p.contentLength());
    Collector c = new Collector();
    p.subscribe(c);
    assertTrue(c.completed);
    assertEquals(null, c.error);
    assertEquals(4, c.slices);
    assertEquals(1, c.maxDepth, "onNext must not be re-entered from request() inside onNext");
    assertArrayEquals(Arrays.copyOfRange(data, 5, data.length - 5), c.bytes.toByteArray());
  }

  @Test
  void aNonPositiveRequestIsAnError() {
    Collector c =
        new Collector() {
          @Override
          public void onSubscribe(Flow.Subscription s) {
            s.request(0);
          }
        };
    new ArraySlicePublisher(new byte[10], 0, 10).subscribe(c);
    assertTrue(c.error instanceof IllegalArgumentException);
    assertEquals(0, c.slices);
  }
}
