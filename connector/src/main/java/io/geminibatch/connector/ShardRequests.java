package io.geminibatch.connector;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.beam.sdk.coders.IterableCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.GroupIntoBatches;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.util.ShardedKey;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.Duration;

/**
 * Stage 2, shard (unbounded input): batches by count, bytes and time ({@link ShardPacks} does
 * bounded input), with one open batch per worker thread ({@link GroupIntoBatches#withShardedKey}),
 * not one per key bucket: a batch is cut when it is full or when its oldest request has waited the
 * buffering time, so a slow stream still fills its jobs (eight key buckets cut 200 prompts into 45
 * jobs). A request's key no longer picks its batch, so two requests with the same key are only
 * caught as duplicates when they land in the same batch. Each batch is handed on as packs, built as
 * the stage step reads it.
 */
final class ShardRequests
    extends PTransform<PCollection<KeyedRequest>, PCollection<KV<Integer, Iterable<Pack>>>> {
  private final BatchSettings settings;
  private final Duration maxBufferingDuration;

  ShardRequests(BatchSettings settings, Duration maxBufferingDuration) {
    this.settings = settings;
    this.maxBufferingDuration = maxBufferingDuration;
  }

  @Override
  public PCollection<KV<Integer, Iterable<Pack>>> expand(PCollection<KeyedRequest> input) {
    return input
        .apply("OneKey", WithKeys.of(0))
        .setCoder(KvCoder.of(VarIntCoder.of(), KeyedRequest.KeyedRequestCoder.INSTANCE))
        .apply(
            "BatchByCountAndBytes",
            GroupIntoBatches.<Integer, KeyedRequest>ofSize(settings.maxRequestsPerJob)
                .withByteSize(settings.maxBytesPerJob, new LineWeigher())
                .withMaxBufferingDuration(maxBufferingDuration)
                .withShardedKey())
        .setCoder(
            KvCoder.of(
                ShardedKey.Coder.of(VarIntCoder.of()),
                IterableCoder.of(KeyedRequest.KeyedRequestCoder.INSTANCE)))
        .apply(
            "AsPacks",
            MapElements.into(new TypeDescriptor<KV<Integer, Iterable<Pack>>>() {})
                .via(batch -> KV.of(0, (Iterable<Pack>) () -> new Packing(batch.getValue().iterator()))))
        .setCoder(KvCoder.of(VarIntCoder.of(), IterableCoder.of(Pack.PackCoder.INSTANCE)));
  }

  /** Sizes a line for the byte limit; the same estimate the stage step splits by. */
  static final class LineWeigher implements SerializableFunction<KeyedRequest, Long> {
    @Override
    public Long apply(KeyedRequest r) {
      return r.lineBytes();
    }
  }

  /** How many shards the totals ask for: a little headroom, as hashing spreads keys unevenly. */
  static int shardCount(long requests, long bytes, BatchSettings s) {
    return shardCount(requests, bytes, s.maxRequestsPerJob, s.maxBytesPerJob);
  }

  static int shardCount(long requests, long bytes, long maxRequests, long maxBytes) {
    long byCount = (long) Math.ceil(requests / (0.95 * maxRequests));
    long byBytes = (long) Math.ceil(bytes / (0.9 * maxBytes));
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.max(byCount, byBytes)));
  }

  /** Packs of a batch's requests, built as they are read (a batch is never held twice). */
  static final class Packing implements Iterator<Pack> {
    private final Iterator<KeyedRequest> requests;

    Packing(Iterator<KeyedRequest> requests) {
      this.requests = requests;
    }

    @Override
    public boolean hasNext() {
      return requests.hasNext();
    }

    @Override
    public Pack next() {
      if (!requests.hasNext()) {
        throw new NoSuchElementException();
      }
      KeyedRequest first = requests.next();
      Pack.Builder pack = new Pack.Builder(0, first.priorAttempts + 1, 64 * 1024);
      pack.add(new Pack.Line(first.key, first.request));
      while (pack.bytes() < Pack.TARGET_BYTES && requests.hasNext()) {
        KeyedRequest r = requests.next();
        pack.add(new Pack.Line(r.key, r.request));
      }
      return pack.build();
    }
  }

  /** A long array: its length, then each value as a var-long. */
  static final class LongsCoder extends ElementCoder<long[]> {
    static final LongsCoder INSTANCE = new LongsCoder();

    @Override
    public void encode(long[] v, java.io.OutputStream out) throws java.io.IOException {
      Codec.writeVarInt(v.length, out);
      for (long x : v) {
        VarLongCoder.of().encode(x, out);
      }
    }

    @Override
    public long[] decode(java.io.InputStream in) throws java.io.IOException {
      long[] v = new long[Codec.readVarInt(in)];
      for (int i = 0; i < v.length; i++) {
        v[i] = VarLongCoder.of().decode(in);
      }
      return v;
    }
  }
}
