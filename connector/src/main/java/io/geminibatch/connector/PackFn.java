package io.geminibatch.connector;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
 *
 * <p>A bundle that holds {@link PackSpill#SPILL_FROM_BYTES} or more writes its packs to one file
 * in the staging location ({@link PackSpill}) and sends on, at its end, only where each pack is:
 * the shuffle that follows then moves metadata, not the requests.
 */
final class PackFn<T> extends DoFn<T, Pack> {
  private final RequestSource<T> source;
  private final StageMetrics metrics = new StageMetrics();
  /** Where this round's packs are spilled; null to never spill. */
  private final String spillDir;
  private transient PackSpill.Writer spill;
  private transient List<Pack> spilled;
  private transient List<BoundedWindow> spilledWindows;
  private transient long budget;
  /** What a pack holds when the budget is reached with every bucket open: its first size. */
  private transient int capacity;
  /** Per window, per bucket: the pack being filled (the last window is kept at hand). */
  private transient Map<BoundedWindow, Pack.Builder[]> open;
  private transient BoundedWindow lastWindow;
  private transient Pack.Builder[] lastBuckets;
  private transient long held;
  /**
   * Line arrays of packs already spilled, for the next packs to fill: a spilled pack's array is
   * free once its encoding is written. Without them every pack allocated a fresh array and grew
   * it, as many bytes again as the input (444 MB at 300,000 prompts of 1 KB), all of it young
   * garbage or copied by the collector while the pack filled. With the lines held, at most {@link
   * #budget} bytes.
   */
  private transient ArrayDeque<byte[]> free;
  private transient long freeBytes;
  /** Packs that filled a recycled array (tests). */
  transient long reused;

  /** The budget's bytes when not 0 (tests: several budgets' worth of lines in a small bundle). */
  private final long budgetBytes;

  PackFn(RequestSource<T> source, String spillDir) {
    this(source, spillDir, 0);
  }

  PackFn(RequestSource<T> source, String spillDir, long budgetBytes) {
    this.source = source;
    this.spillDir = spillDir;
    this.budgetBytes = budgetBytes;
  }

  @Setup
  public void setup() {
    // A sixteenth of the heap, at most 64 MB: flat in the input's size.
    budget = budgetBytes > 0 ? budgetBytes : Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16);
    capacity = (int) Math.min(Pack.TARGET_BYTES, budget / Pack.BUCKETS + 8 * 1024);
    free = new ArrayDeque<>();
    freeBytes = 0;
  }

  @StartBundle
  public void startBundle() {
    open = new HashMap<>();
    lastWindow = null;
    lastBuckets = null;
    held = 0;
    spill = null;
    spilled = new ArrayList<>();
    spilledWindows = new ArrayList<>();
  }

  @ProcessElement
  public void process(@Element T input, BoundedWindow window, OutputReceiver<Pack> out) throws IOException {
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
      send(pack, out, window);
      pack = null;
    }
    if (pack == null) {
      byte[] buffer = free.poll();
      if (buffer == null) {
        pack = new Pack.Builder(bucket, attempt, capacity);
      } else {
        freeBytes -= buffer.length;
        reused++;
        pack = new Pack.Builder(bucket, attempt, buffer);
      }
      buckets[bucket] = pack;
    }
    pack.add(line);
    held += line.length();
    if (pack.bytes() >= Pack.TARGET_BYTES) {
      send(pack, out, window);
      buckets[bucket] = null;
    }
    if (held >= budget) {
      // Packs of other windows wait for the end of the bundle: output() is for this window.
      for (int b = 0; b < buckets.length; b++) {
        if (buckets[b] != null) {
          send(buckets[b], out, window);
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

  /** Sends a pack on now, or spills it (a bundle that holds enough spills all its packs). */
  private void send(Pack.Builder pack, OutputReceiver<Pack> out, BoundedWindow window) throws IOException {
    boolean spillIt = spill != null || (spillDir != null && held >= PackSpill.SPILL_FROM_BYTES);
    held -= pack.bytes();
    if (spillIt) {
      spill(pack.build(), window);
    } else {
      out.output(pack.build());
    }
  }

  private void spill(Pack pack, BoundedWindow window) throws IOException {
    if (spill == null) {
      spill = new PackSpill.Writer(spillDir);
    }
    spilled.add(spill.write(pack));
    spilledWindows.add(window);
    // Written: nothing refers to the array any more. Lines held and arrays kept stay within the
    // budget together.
    if (held + freeBytes + pack.lines.length <= budget) {
      free.push(pack.lines);
      freeBytes += pack.lines.length;
    }
  }

  @FinishBundle
  public void finishBundle(FinishBundleContext c) throws IOException {
    boolean spillRest = spill != null || (spillDir != null && held >= PackSpill.SPILL_FROM_BYTES);
    for (Map.Entry<BoundedWindow, Pack.Builder[]> w : open.entrySet()) {
      for (Pack.Builder pack : w.getValue()) {
        if (pack == null) {
          continue;
        }
        if (spillRest) {
          spill(pack.build(), w.getKey());
        } else {
          c.output(pack.build(), w.getKey().maxTimestamp(), w.getKey());
        }
      }
    }
    if (spill != null) {
      // The file is complete before anything names it.
      spill.close();
      spill = null;
      metrics.packsSpilled.inc(spilled.size());
      for (int i = 0; i < spilled.size(); i++) {
        BoundedWindow w = spilledWindows.get(i);
        c.output(spilled.get(i), w.maxTimestamp(), w);
      }
    }
    spilled = null;
    spilledWindows = null;
    open = null;
    source.flushMetrics();
  }
}
