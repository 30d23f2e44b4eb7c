package io.geminibatch.connector;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.transforms.DoFn;

/**
 * Responses read from one stretch of a result file, moved between steps as one element and
 * turned into single responses by {@link ExplodeFn} in a step after the read.
 *
 * <p>Why: on a runner that does not fuse a step with several outputs into each consumer (Flink's
 * batch mode), every consumer of the read step decodes all it emitted, the job events' consumer
 * included, and the flatten before the explode step may be materialized in full. As batches, the responses cross
 * those exchanges as a few large byte arrays, which a consumer that drops them only copies: the
 * coder keeps a decoded batch as its bytes and decodes the responses when they are iterated.
 */
final class ResponseBatch<T> implements Iterable<T> {
  /** A batch is sent on at this many bytes of responses (Flink spills records of 5 MB and up). */
  static final int TARGET_BYTES = 2 << 20;

  private final List<T> items;
  private final byte[] encoded;
  private final int count;
  private final Coder<T> coder;

  private ResponseBatch(List<T> items, byte[] encoded, int count, Coder<T> coder) {
    this.items = items;
    this.encoded = encoded;
    this.count = count;
    this.coder = coder;
  }

  static <T> ResponseBatch<T> of(List<T> items) {
    return new ResponseBatch<>(new ArrayList<>(items), null, items.size(), null);
  }

  int size() {
    return count;
  }

  @Override
  public Iterator<T> iterator() {
    if (items != null) {
      return items.iterator();
    }
    InputStream in = new ByteArrayInputStream(encoded);
    return new Iterator<T>() {
      int left = count;

      @Override
      public boolean hasNext() {
        return left > 0;
      }

      @Override
      public T next() {
        if (left == 0) {
          throw new NoSuchElementException();
        }
        left--;
        try {
          return coder.decode(in);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }

  private static final ThreadLocal<Buffer> BUFFER = ThreadLocal.withInitial(Buffer::new);

  /** A growable buffer without ByteArrayOutputStream's locking (coders write a byte at a time). */
  private static final class Buffer extends OutputStream {
    private byte[] buf = new byte[TARGET_BYTES + (TARGET_BYTES >> 2)];
    private int size;

    void reset() {
      size = 0;
    }

    int size() {
      return size;
    }

    int capacity() {
      return buf.length;
    }

    private void ensure(int more) {
      if (size + more > buf.length) {
        buf = java.util.Arrays.copyOf(buf, Math.max(size + more, buf.length * 2));
      }
    }

    @Override
    public void write(int b) {
      ensure(1);
      buf[size++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      ensure(len);
      System.arraycopy(b, off, buf, size, len);
      size += len;
    }

    void writeTo(OutputStream out) throws IOException {
      out.write(buf, 0, size);
    }
  }

  /** The responses' own encodings back to back, behind their count and total length. */
  static final class BatchCoder<T> extends CustomCoder<ResponseBatch<T>> {
    private final Coder<T> coder;

    BatchCoder(Coder<T> coder) {
      this.coder = coder;
    }

    @Override
    public void encode(ResponseBatch<T> batch, OutputStream out) throws IOException {
      Codec.writeVarInt(batch.count, out);
      if (batch.encoded != null) {
        Codec.writeVarInt(batch.encoded.length, out);
        out.write(batch.encoded);
        return;
      }
      // The length goes first: the responses are encoded into a buffer kept by the thread.
      Buffer buf = BUFFER.get();
      buf.reset();
      for (T item : batch.items) {
        coder.encode(item, buf);
      }
      Codec.writeVarInt(buf.size(), out);
      buf.writeTo(out);
      if (buf.capacity() > 4 * TARGET_BYTES) {
        BUFFER.remove(); // an unusually large batch: do not keep its buffer
      }
    }

    @Override
    public ResponseBatch<T> decode(InputStream in) throws IOException {
      int count = Codec.readVarInt(in);
      int length = Codec.readVarInt(in);
      return new ResponseBatch<>(null, Codec.readFully(in, length), count, coder);
    }

    @Override
    public List<? extends Coder<?>> getCoderArguments() {
      return List.of(coder);
    }

    @Override
    public void verifyDeterministic() throws NonDeterministicException {
      throw new NonDeterministicException(this, "response batches are never keys");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof BatchCoder && ((BatchCoder<?>) o).coder.equals(coder);
    }

    @Override
    public int hashCode() {
      return coder.hashCode();
    }
  }

  /** One response per element again. */
  static final class ExplodeFn<T> extends DoFn<ResponseBatch<T>, T> {
    @ProcessElement
    public void process(@Element ResponseBatch<T> batch, OutputReceiver<T> out) {
      for (T item : batch) {
        out.output(item);
      }
    }
  }
}
