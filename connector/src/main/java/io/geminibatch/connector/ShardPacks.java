package io.geminibatch.connector;

import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Stage 2b, shard (bounded input): measures every key bucket (requests and bytes), then packs
 * consecutive buckets into shards up to the job limits, and groups the packs by shard. A bucket
 * too large for one job is one group split into parts by key. Shards depend only on the set of
 * requests, never on how the runner bundled them, so a replay or a rerun stages the same shards.
 */
final class ShardPacks extends PTransform<PCollection<Pack>, PCollection<KV<Integer, Iterable<Pack>>>> {
  private final BatchSettings settings;

  ShardPacks(BatchSettings settings) {
    this.settings = settings;
  }

  @Override
  public PCollection<KV<Integer, Iterable<Pack>>> expand(PCollection<Pack> packs) {
    // Only each pack's bucket, count and size enter the combine: on Flink a combine sorts its
    // input records first, and a pack holding one request near the request limit (10 MB) does
    // not fit a sort buffer ("Cannot write record to fresh sort buffer. Record too large.").
    PCollectionView<long[]> sizes =
        packs
            .apply("PackSizes", ParDo.of(new SizeOfFn()))
            .setCoder(ShardRequests.LongsCoder.INSTANCE)
            .apply("MeasureBuckets", Combine.globally(new BucketSizes()).asSingletonView());
    return packs
        .apply("AssignShard", ParDo.of(new AssignShardFn(sizes, settings)).withSideInputs(sizes))
        .setCoder(KvCoder.of(VarIntCoder.of(), Pack.PackCoder.INSTANCE))
        .apply("GroupShards", GroupByKey.create());
  }

  /**
   * For every bucket: its group (shard, or parts of one), and in how many parts it splits. Walks
   * the buckets in order, starting a new group when the next bucket would overflow a limit.
   */
  static int[][] groups(long[] sizes, long maxRequests, long maxBytes) {
    int[] groupOf = new int[Pack.BUCKETS];
    int[] partsOf = new int[Pack.BUCKETS];
    int group = -1;
    long requests = 0;
    long bytes = 0;
    boolean open = false;
    for (int b = 0; b < Pack.BUCKETS; b++) {
      long n = sizes[2 * b];
      long size = sizes[2 * b + 1];
      partsOf[b] = 1;
      if (n == 0) {
        continue;
      }
      if (n > maxRequests || size > maxBytes) {
        // Parts by a hash of the key: a little headroom, as hashing spreads keys unevenly.
        group++;
        groupOf[b] = group;
        partsOf[b] = ShardRequests.shardCount(n, size, maxRequests, maxBytes);
        open = false;
        continue;
      }
      if (!open || requests + n > maxRequests || bytes + size > maxBytes) {
        group++;
        requests = 0;
        bytes = 0;
        open = true;
      }
      groupOf[b] = group;
      requests += n;
      bytes += size;
    }
    return new int[][] {groupOf, partsOf};
  }

  /** Requests and line bytes per bucket: {@code [2b]} and {@code [2b + 1]}. */
  /** A pack's {bucket, count, size}. */
  static final class SizeOfFn extends DoFn<Pack, long[]> {
    @ProcessElement
    public void process(@Element Pack p, OutputReceiver<long[]> out) {
      out.output(new long[] {p.bucket, p.count, p.size});
    }
  }

  /** Sums {bucket, count, size} triples into counts and sizes per bucket. */
  static final class BucketSizes extends Combine.CombineFn<long[], long[], long[]> {
    @Override
    public long[] createAccumulator() {
      return new long[2 * Pack.BUCKETS];
    }

    @Override
    public long[] addInput(long[] acc, long[] p) {
      int bucket = (int) p[0];
      acc[2 * bucket] += p[1];
      acc[2 * bucket + 1] += p[2];
      return acc;
    }

    @Override
    public long[] mergeAccumulators(Iterable<long[]> accs) {
      long[] sum = createAccumulator();
      for (long[] a : accs) {
        for (int i = 0; i < sum.length; i++) {
          sum[i] += a[i];
        }
      }
      return sum;
    }

    @Override
    public long[] extractOutput(long[] acc) {
      return acc;
    }

    @Override
    public org.apache.beam.sdk.coders.Coder<long[]> getAccumulatorCoder(
        CoderRegistry registry, org.apache.beam.sdk.coders.Coder<long[]> inputCoder) {
      return ShardRequests.LongsCoder.INSTANCE;
    }

    @Override
    public org.apache.beam.sdk.coders.Coder<long[]> getDefaultOutputCoder(
        CoderRegistry registry, org.apache.beam.sdk.coders.Coder<long[]> inputCoder) {
      return ShardRequests.LongsCoder.INSTANCE;
    }
  }

  /** Keys each pack by its bucket's group, and tells it in how many parts the group splits. */
  static final class AssignShardFn extends DoFn<Pack, KV<Integer, Pack>> {
    private final PCollectionView<long[]> sizes;
    private final BatchSettings settings;
    private transient long[] measured;
    private transient int[][] groups;

    AssignShardFn(PCollectionView<long[]> sizes, BatchSettings settings) {
      this.sizes = sizes;
      this.settings = settings;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      long[] s = c.sideInput(sizes);
      if (s != measured) {
        groups = groups(s, settings.maxRequestsPerJob, settings.maxBytesPerJob);
        measured = s;
      }
      Pack p = c.element();
      c.output(KV.of(groups[0][p.bucket], p.withParts(groups[1][p.bucket])));
    }
  }
}
