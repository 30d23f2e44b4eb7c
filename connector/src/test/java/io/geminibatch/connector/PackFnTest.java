package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.OutputBuilder;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.WindowedValues;
import org.joda.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pack step's packs, spilled and with the line arrays of spilled packs filled again by later
 * packs, hold each request's line once, in its bucket, in input order: the oracle is the lines
 * built one by one ({@link Pack.Line}), grouped by bucket. Budgets from a few lines to more than
 * the input, so that the budget's flush (which frees every open pack's array) runs zero to many
 * times a bundle, with requests of sizes around the packs' first capacity.
 */
class PackFnTest {
  @TempDir Path tmp;

  private static final class Collect implements DoFn.OutputReceiver<Pack> {
    final List<Pack> packs = new ArrayList<>();

    @Override
    public OutputBuilder<Pack> builder(Pack value) {
      return WindowedValues.<Pack>builder()
          .setValue(value)
          .setTimestamp(BoundedWindow.TIMESTAMP_MIN_VALUE)
          .setWindow(GlobalWindow.INSTANCE)
          .setPaneInfo(PaneInfo.NO_FIRING)
          .setReceiver(wv -> packs.add(wv.getValue()));
    }
  }

  private static byte[] line(KeyedRequest r) {
    Pack.Line l = new Pack.Line(r.key, r.request);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes("{\"key\":".getBytes(StandardCharsets.UTF_8));
    out.writeBytes(l.quotedKey);
    out.writeBytes(",\"request\":".getBytes(StandardCharsets.UTF_8));
    out.writeBytes(l.request);
    out.writeBytes("}\n".getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private long reused;

  /** Runs {@code requests} in {@code bundles} through a pack step with {@code budget}; returns its packs. */
  private List<Pack> pack(List<KeyedRequest> requests, long budget, int bundles) throws IOException {
    PackFn<KeyedRequest> fn = new PackFn<>(RequestSource.validated(), tmp.toString() + "/", budget);
    fn.setup();
    Collect out = new Collect();
    int per = (requests.size() + bundles - 1) / bundles;
    for (int b = 0; b < bundles; b++) {
      fn.startBundle();
      for (KeyedRequest r : requests.subList(Math.min(b * per, requests.size()), Math.min((b + 1) * per, requests.size()))) {
        fn.process(r, GlobalWindow.INSTANCE, out);
      }
      fn.finishBundle(
          fn.new FinishBundleContext() {
            @Override
            public PipelineOptions getPipelineOptions() {
              return PipelineOptionsFactory.create();
            }

            @Override
            public void output(Pack output, Instant timestamp, BoundedWindow window) {
              out.packs.add(output);
            }

            @Override
            public <T> void output(TupleTag<T> tag, T output, Instant timestamp, BoundedWindow window) {
              throw new AssertionError("one output");
            }
          });
    }
    reused = fn.reused;
    return out.packs;
  }

  @Test
  void recycledArraysHoldEveryLineOnceInItsBucketInOrder() throws IOException {
    Random random = new Random(18);
    List<KeyedRequest> requests = new ArrayList<>();
    Map<Integer, ByteArrayOutputStream> expected = new HashMap<>();
    long inputBytes = 0;
    for (int i = 0; i < 6000; i++) {
      // Around the first capacity of a pack under the smaller budgets, and small ones.
      int size = random.nextInt(4) == 0 ? 1 + random.nextInt(40) : 1 + random.nextInt(3000);
      StringBuilder text = new StringBuilder();
      while (text.length() < size) {
        text.append((char) ('a' + random.nextInt(26)));
      }
      KeyedRequest r = new KeyedRequest("k" + i, ("{\"text\":\"" + text + "\"}").getBytes(StandardCharsets.UTF_8), 0);
      requests.add(r);
      byte[] l = line(r);
      expected.computeIfAbsent(new Pack.Line(r.key, r.request).bucket(), b -> new ByteArrayOutputStream()).writeBytes(l);
      inputBytes += l.length;
    }
    // A bundle spills from PackSpill.SPILL_FROM_BYTES held on; below it, packs go on as they are.
    for (long budget : new long[] {4 << 10, 300 << 10, 512 << 10, 1 << 20, inputBytes / 3, inputBytes * 2}) {
      for (int bundles : new int[] {1, 3}) {
        List<Pack> packs = pack(requests, budget, bundles);
        Map<Integer, ByteArrayOutputStream> got = new HashMap<>();
        int count = 0;
        boolean spilled = false;
        try (PackSpill.Reader reader = new PackSpill.Reader()) {
          for (Pack stub : packs) {
            spilled |= stub.isSpilled();
            Pack p = stub.load(reader);
            int start = 0;
            for (int i = 0; i < p.count; i++) {
              byte[] l = java.util.Arrays.copyOfRange(p.lines, start, p.ends[i]);
              assertEquals(p.bucket, new Pack.Line(keyOf(l), requestOf(l)).bucket(), "line in its bucket");
              start = p.ends[i];
            }
            assertEquals(p.size, start);
            got.computeIfAbsent(p.bucket, b -> new ByteArrayOutputStream()).write(p.lines, 0, p.size);
            count += p.count;
          }
        }
        String what = "budget " + budget + ", " + bundles + " bundles";
        if (budget > PackSpill.SPILL_FROM_BYTES && budget < inputBytes / bundles) {
          assertTrue(spilled, what + ": the packs were spilled");
          assertTrue(reused > 0, what + ": arrays were filled again");
        }
        assertEquals(requests.size(), count, what);
        assertEquals(expected.keySet(), got.keySet(), what);
        for (Map.Entry<Integer, ByteArrayOutputStream> e : expected.entrySet()) {
          assertArrayEquals(e.getValue().toByteArray(), got.get(e.getKey()).toByteArray(), what + ", bucket " + e.getKey());
        }
      }
    }
  }

  /** The key of a line this test wrote ({@code {"key":"kN","request":...}}). */
  private static String keyOf(byte[] line) {
    String s = new String(line, StandardCharsets.UTF_8);
    return s.substring("{\"key\":\"".length(), s.indexOf("\",\"request\":"));
  }

  private static byte[] requestOf(byte[] line) {
    String s = new String(line, StandardCharsets.UTF_8);
    String r = s.substring(s.indexOf(",\"request\":") + ",\"request\":".length(), s.length() - 2);
    return r.getBytes(StandardCharsets.UTF_8);
  }
}
