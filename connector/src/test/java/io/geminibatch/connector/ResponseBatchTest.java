package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.junit.jupiter.api.Test;

class ResponseBatchTest {
  /** Counts decodes, to tell a lazy batch from an eager one. */
  static final class CountingCoder extends CustomCoder<String> {
    final AtomicInteger decodes = new AtomicInteger();

    @Override
    public void encode(String value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value, out);
    }

    @Override
    public String decode(InputStream in) throws IOException {
      decodes.incrementAndGet();
      return StringUtf8Coder.of().decode(in);
    }
  }

  @Test
  void aDecodedBatchIsOnlyCopiedUntilIteratedAndThenYieldsItsItemsInOrder() throws IOException {
    CountingCoder items = new CountingCoder();
    ResponseBatch.BatchCoder<String> coder = new ResponseBatch.BatchCoder<>(items);
    List<String> values = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      values.add("response " + i + " " + "é".repeat(i % 7));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    coder.encode(ResponseBatch.of(values), out);
    coder.encode(ResponseBatch.of(List.of("next")), out); // batches stand back to back in a stream

    InputStream in = new ByteArrayInputStream(out.toByteArray());
    ResponseBatch<String> first = coder.decode(in);
    ResponseBatch<String> second = coder.decode(in);
    assertEquals(-1, in.read());
    assertEquals(0, items.decodes.get(), "decoding a batch must not decode its items");
    assertEquals(1000, first.size());

    // Re-encoding an undecoded batch copies its bytes as they are.
    ByteArrayOutputStream again = new ByteArrayOutputStream();
    coder.encode(first, again);
    assertEquals(0, items.decodes.get());

    List<String> read = new ArrayList<>();
    first.forEach(read::add);
    assertEquals(values, read);
    assertEquals(1000, items.decodes.get());
    List<String> other = new ArrayList<>();
    coder.decode(new ByteArrayInputStream(again.toByteArray())).forEach(other::add);
    assertEquals(values, other);
    assertEquals(List.of("next"), List.copyOf(toList(second)));
  }

  private static List<String> toList(Iterable<String> it) {
    List<String> l = new ArrayList<>();
    it.forEach(l::add);
    return l;
  }
}
