package io.geminibatch.connector;

import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;

/**
 * Stage 2a, pack: turns each input into its request ({@link RequestSource}: validation, or none
 * for retries) and its JSONL line, and collects the lines into {@link Pack}s by key bucket (an
 * input that cannot be sent becomes a pack of its failure). A pack
 * is sent on when it reaches {@link Pack#TARGET_BYTES}, when the lines held reach a share of the
 * heap, and at the end of the bundle; so memory holds at most that share, whatever the input's
 * size. Everything after this step moves packs, not requests.
 */
final class PackFn<T> extends DoFn<T, Pack> {
  private final RequestSource<T> source;
  private transient long budget;
  /** What a pack holds when the budget is reached with every bucket open: its first size. */
  private transient int capacity;
  /** Per window, per bucket: the pack being filled (the last window is kept at hand). */
  private transient Map<BoundedWindow, Pack.Builder[]> open;
  private transient BoundedWindow lastWindow;
  private transient Pack.Builder[] lastBuckets;
  private transient long held;

  PackFn(RequestSource<T> source) {
    this.source = source;
  }

  @Setup
  public void setup() {
    // A sixteenth of the heap, at most 64 MB: flat in the input's size.
    budget = Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16);
    capacity = (int) Math.min(Pack.TARGET_BYTES, budget / Pack.BUCKETS + 8 * 1024);
  }

  @StartBundle
  public void startBundle() {
    open = new HashMap<>();
    lastWindow = null;
    lastBuckets = null;
    held = 0;
  }

  @ProcessElement
  public void process(@Element T input, BoundedWindow window, OutputReceiver<Pack> out) {
    KeyedRequest request = source.request(input, failure -> out.output(Pack.of(failure)));
    if (request == null) {
      return;
    }
    if (!window.equals(lastWindow)) {
      lastBuckets = open.computeIfAbsent(window, w -> new Pack.Builder[Pack.BUCKETS]);
      lastWindow = window;
    }
    Pack.Builder[] buckets = lastBuckets;
    Pack.Line line = new Pack.Line(request.key, request.request);
    int bucket = line.bucket();
    int attempt = request.priorAttempts + 1;
    Pack.Builder pack = buckets[bucket];
    if (pack != null && pack.attempt != attempt) {
      send(pack, out);
      pack = null;
    }
    if (pack == null) {
      pack = new Pack.Builder(bucket, attempt, capacity);
      buckets[bucket] = pack;
    }
    pack.add(line);
    held += line.length();
    if (pack.bytes() >= Pack.TARGET_BYTES) {
      send(pack, out);
      buckets[bucket] = null;
    }
    if (held >= budget) {
      // Packs of other windows wait for the end of the bundle: output() is for this window.
      for (int b = 0; b < buckets.length; b++) {
        if (buckets[b] != null) {
          send(buckets[b], out);
          buckets[b] = null;
        }
      }
      held = 0;
      for (Pack.Builder[] other : open.values()) {
        for (Pack.Builder b : other) {
          held += b == null ? 0 : b.bytes();
        }
      }
    }
  }

  private void send(Pack.Builder pack, OutputReceiver<Pack> out) {
    held -= pack.bytes();
    out.output(pack.build());
  }

  @FinishBundle
  public void finishBundle(FinishBundleContext c) {
    for (Map.Entry<BoundedWindow, Pack.Builder[]> w : open.entrySet()) {
      for (Pack.Builder pack : w.getValue()) {
        if (pack != null) {
          c.output(pack.build(), w.getKey().maxTimestamp(), w.getKey());
        }
      }
    }
    open = null;
    source.flushMetrics();
  }
}
