package io.geminibatch.pipelines;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Samples, on its own thread, what the benchmark reports beside time: the peak of the heap in use
 * (garbage included, so at most {@code -Xmx}), the peak of the heap left after a collection (the
 * live data), the process's CPU time, and the CPU time of chosen threads (the emulator's).
 */
final class ResourceMonitor implements AutoCloseable {
  private static final long SAMPLE_MILLIS = 20;
  private static final long THREAD_SAMPLE_EVERY = 10;

  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private final Predicate<String> watched;
  private final Thread sampler;
  private final long startCpuNanos = processCpuNanos();
  /** Thread id -> CPU nanos at the start (0 for threads born later) and at the last sample. */
  private final Map<Long, long[]> threadCpu = new HashMap<>();
  private final NotificationListener listener = this::afterGc;
  private volatile boolean stopped;
  private long peakUsed;
  private long peakAfterGc;

  /** Starts sampling; {@code watched} picks the threads whose CPU time is summed, by name. */
  ResourceMonitor(Predicate<String> watched) {
    this.watched = watched;
    sampleThreads(true);
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof NotificationEmitter) {
        ((NotificationEmitter) gc).addNotificationListener(listener, null, null);
      }
    }
    this.sampler = new Thread(this::loop, "benchmark-monitor");
    sampler.setDaemon(true);
    sampler.start();
  }

  private void loop() {
    for (long n = 1; !stopped; n++) {
      sampleHeap();
      if (n % THREAD_SAMPLE_EVERY == 0) {
        sampleThreads(false);
      }
      try {
        Thread.sleep(SAMPLE_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private synchronized void sampleHeap() {
    peakUsed = Math.max(peakUsed, memory.getHeapMemoryUsage().getUsed());
  }

  /** After every collection: the heap it left, summed over the heap's pools. */
  private void afterGc(Notification n, Object handback) {
    if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
      return;
    }
    GcInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData()).getGcInfo();
    long live = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      MemoryUsage after = info.getMemoryUsageAfterGc().get(pool.getName());
      if (pool.getType() == MemoryType.HEAP && after != null) {
        live += after.getUsed();
      }
    }
    synchronized (this) {
      peakAfterGc = Math.max(peakAfterGc, live);
    }
  }

  private synchronized void sampleThreads(boolean first) {
    long[] ids = threads.getAllThreadIds();
    for (ThreadInfo info : threads.getThreadInfo(ids)) {
      if (info == null || !watched.test(info.getThreadName())) {
        continue;
      }
      long cpu = threads.getThreadCpuTime(info.getThreadId());
      if (cpu < 0) {
        continue;
      }
      long[] seen = threadCpu.computeIfAbsent(info.getThreadId(), id -> new long[] {first ? cpu : 0, cpu});
      seen[1] = cpu;
    }
  }

  private static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean
        ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime()
        : 0;
  }

  /** What was measured between the start and {@link #close}. */
  static final class Usage {
    final long peakHeapBytes;
    final long peakHeapAfterGcBytes;
    final double processCpuSeconds;
    final double watchedCpuSeconds;

    Usage(long peakHeapBytes, long peakHeapAfterGcBytes, double processCpuSeconds, double watchedCpuSeconds) {
      this.peakHeapBytes = peakHeapBytes;
      this.peakHeapAfterGcBytes = peakHeapAfterGcBytes;
      this.processCpuSeconds = processCpuSeconds;
      this.watchedCpuSeconds = watchedCpuSeconds;
    }
  }

  private Usage usage;

  Usage usage() {
    return usage;
  }

  @Override
  public void close() {
    stopped = true;
    sampler.interrupt();
    try {
      sampler.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof NotificationEmitter) {
        try {
          ((NotificationEmitter) gc).removeNotificationListener(listener);
        } catch (ListenerNotFoundException e) {
          // never added
        }
      }
    }
    sampleHeap();
    sampleThreads(false);
    long watchedNanos = 0;
    synchronized (this) {
      for (long[] t : threadCpu.values()) {
        watchedNanos += t[1] - t[0];
      }
      usage = new Usage(peakUsed, peakAfterGc, (processCpuNanos() - startCpuNanos) / 1e9, watchedNanos / 1e9);
    }
  }
}
