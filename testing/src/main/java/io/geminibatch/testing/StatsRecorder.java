package io.geminibatch.testing;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The emulator's mutable counters; {@link #snapshot} turns them into {@link EmulatorStats}. */
final class StatsRecorder {
  private final ConcurrentHashMap<String, AtomicLong> calls = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicLong> creates = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicLong> faults = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicLong> webhooks = new ConcurrentHashMap<>();
  /** Endpoint -> {start of its first served call, end of its last}, epoch millis. */
  private final ConcurrentHashMap<String, long[]> served = new ConcurrentHashMap<>();
  private final AtomicLong batchesCreated = new AtomicLong();
  private final AtomicLong bytesUploaded = new AtomicLong();
  private final AtomicLong bytesDownloaded = new AtomicLong();
  private final ConcurrentHashMap<String, AtomicLong> quotaRefusals = new ConcurrentHashMap<>();
  private int activeJobs;
  private int peakActiveJobs;
  private long enqueuedTokens;
  private long peakEnqueuedTokens;

  void call(String endpoint) {
    calls.computeIfAbsent(endpoint, k -> new AtomicLong()).incrementAndGet();
  }

  /** A call to {@code endpoint} answered successfully, from {@code start} to {@code end}. */
  void served(String endpoint, long start, long end) {
    // A new pair each time: a snapshot never sees one half-updated.
    served.merge(endpoint, new long[] {start, end},
        (a, b) -> new long[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
  }

  void created(String displayName) {
    batchesCreated.incrementAndGet();
    creates.computeIfAbsent(displayName, k -> new AtomicLong()).incrementAndGet();
  }

  void fault(String kind) {
    faults.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
  }

  /** A create refused for quota: {@code activeJobs}, {@code enqueuedTokens} or {@code spurious}. */
  void quotaRefused(String reason) {
    quotaRefusals.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
  }

  synchronized void enqueued(long tokens) {
    enqueuedTokens += tokens;
    peakEnqueuedTokens = Math.max(peakEnqueuedTokens, enqueuedTokens);
  }

  void webhook(String counter) {
    webhooks.computeIfAbsent(counter, k -> new AtomicLong()).incrementAndGet();
  }

  void uploaded(long n) {
    bytesUploaded.addAndGet(n);
  }

  void downloaded(long n) {
    bytesDownloaded.addAndGet(n);
  }

  synchronized void jobActivated() {
    activeJobs++;
    peakActiveJobs = Math.max(peakActiveJobs, activeJobs);
  }

  synchronized void jobDeactivated() {
    activeJobs--;
  }

  synchronized void reset() {
    calls.clear();
    creates.clear();
    faults.clear();
    quotaRefusals.clear();
    webhooks.clear();
    served.clear();
    batchesCreated.set(0);
    bytesUploaded.set(0);
    bytesDownloaded.set(0);
    peakActiveJobs = activeJobs;
    peakEnqueuedTokens = enqueuedTokens;
  }

  synchronized EmulatorStats snapshot(Map<String, Long> jobsByState, long filesStored) {
    return new EmulatorStats(
        batchesCreated.get(),
        copy(creates),
        copy(calls),
        copy(faults),
        copy(quotaRefusals),
        peakActiveJobs,
        activeJobs,
        peakEnqueuedTokens,
        enqueuedTokens,
        jobsByState,
        filesStored,
        bytesUploaded.get(),
        bytesDownloaded.get(),
        copy(webhooks),
        span(0),
        span(1));
  }

  private Map<String, Long> span(int end) {
    Map<String, Long> out = new HashMap<>();
    served.forEach((k, v) -> out.put(k, v[end]));
    return out;
  }

  private static Map<String, Long> copy(Map<String, AtomicLong> m) {
    Map<String, Long> out = new HashMap<>();
    m.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }
}
