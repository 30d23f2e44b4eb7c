package io.geminibatch.connector;

import java.io.Serializable;
import org.apache.beam.sdk.coders.IterableCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.GroupIntoBatches;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.joda.time.Duration;

/**
 * Stage 2, shard: gives each request a shard key derived from its own key, so that a replay puts
 * it in the same shard, and groups by it. A bounded input is first counted, so that there are
 * just enough shards for the job limits (count and bytes); an unbounded one is batched with a
 * time bound.
 */
final class ShardRequests
    extends PTransform<PCollection<KeyedRequest>, PCollection<KV<Integer, Iterable<KeyedRequest>>>> {
  /** Shard keys for an unbounded input: parallelism of staging, not a limit on job count. */
  static final int UNBOUNDED_SHARD_KEYS = 8;

  private final BatchSettings settings;
  private final Duration maxBufferingDuration;

  ShardRequests(BatchSettings settings, Duration maxBufferingDuration) {
    this.settings = settings;
    this.maxBufferingDuration = maxBufferingDuration;
  }

  @Override
  public PCollection<KV<Integer, Iterable<KeyedRequest>>> expand(PCollection<KeyedRequest> input) {
    KvCoder<Integer, KeyedRequest> kvCoder =
        KvCoder.of(VarIntCoder.of(), KeyedRequest.KeyedRequestCoder.INSTANCE);
    if (input.isBounded() == PCollection.IsBounded.UNBOUNDED) {
      return input
          .apply("AssignShardKey", ParDo.of(new AssignKeyFn(null, UNBOUNDED_SHARD_KEYS, settings)))
          .setCoder(kvCoder)
          .apply(
              "BatchByCountAndBytes",
              GroupIntoBatches.<Integer, KeyedRequest>ofSize(settings.maxRequestsPerJob)
                  .withByteSize(settings.maxBytesPerJob, new LineWeigher())
                  .withMaxBufferingDuration(maxBufferingDuration))
          .setCoder(KvCoder.of(VarIntCoder.of(), IterableCoder.of(KeyedRequest.KeyedRequestCoder.INSTANCE)));
    }
    PCollectionView<long[]> totals =
        input.apply("CountAndMeasure", Combine.globally(new Totals()).asSingletonView());
    return input
        .apply(
            "AssignShardKey",
            ParDo.of(new AssignKeyFn(totals, 0, settings)).withSideInputs(totals))
        .setCoder(kvCoder)
        .apply("GroupShards", GroupByKey.create());
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
    long byCount = (long) Math.ceil(requests / (0.95 * s.maxRequestsPerJob));
    long byBytes = (long) Math.ceil(bytes / (0.9 * s.maxBytesPerJob));
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.max(byCount, byBytes)));
  }

  /** A well-mixed hash of the key (String.hashCode is fixed by the JLS, so stable everywhere). */
  static int shardOf(String key, int shards) {
    int h = key.hashCode();
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return Math.floorMod(h, shards);
  }

  static final class AssignKeyFn extends DoFn<KeyedRequest, KV<Integer, KeyedRequest>> {
    private final PCollectionView<long[]> totals;
    private final int fixedShards;
    private final BatchSettings settings;

    AssignKeyFn(PCollectionView<long[]> totals, int fixedShards, BatchSettings settings) {
      this.totals = totals;
      this.fixedShards = fixedShards;
      this.settings = settings;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      int shards = fixedShards;
      if (totals != null) {
        long[] t = c.sideInput(totals);
        shards = shardCount(t[0], t[1], settings);
      }
      KeyedRequest r = c.element();
      c.output(KV.of(shardOf(r.key, shards), r));
    }
  }

  /** Counts requests and their line bytes. */
  static final class Totals extends Combine.CombineFn<KeyedRequest, long[], long[]>
      implements Serializable {
    @Override
    public long[] createAccumulator() {
      return new long[2];
    }

    @Override
    public long[] addInput(long[] acc, KeyedRequest r) {
      acc[0]++;
      acc[1] += r.lineBytes();
      return acc;
    }

    @Override
    public long[] mergeAccumulators(Iterable<long[]> accs) {
      long[] sum = new long[2];
      for (long[] a : accs) {
        sum[0] += a[0];
        sum[1] += a[1];
      }
      return sum;
    }

    @Override
    public long[] extractOutput(long[] acc) {
      return acc;
    }

    @Override
    public org.apache.beam.sdk.coders.Coder<long[]> getAccumulatorCoder(
        org.apache.beam.sdk.coders.CoderRegistry registry,
        org.apache.beam.sdk.coders.Coder<KeyedRequest> inputCoder) {
      return LongPairCoder.INSTANCE;
    }

    @Override
    public org.apache.beam.sdk.coders.Coder<long[]> getDefaultOutputCoder(
        org.apache.beam.sdk.coders.CoderRegistry registry,
        org.apache.beam.sdk.coders.Coder<KeyedRequest> inputCoder) {
      return LongPairCoder.INSTANCE;
    }
  }

  /** Two var-longs. */
  static final class LongPairCoder extends ElementCoder<long[]> {
    static final LongPairCoder INSTANCE = new LongPairCoder();

    @Override
    public void encode(long[] v, java.io.OutputStream out) throws java.io.IOException {
      VarLongCoder.of().encode(v[0], out);
      VarLongCoder.of().encode(v[1], out);
    }

    @Override
    public long[] decode(java.io.InputStream in) throws java.io.IOException {
      return new long[] {VarLongCoder.of().decode(in), VarLongCoder.of().decode(in)};
    }
  }
}
