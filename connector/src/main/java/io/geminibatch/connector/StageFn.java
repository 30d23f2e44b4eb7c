package io.geminibatch.connector;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Stage 3, stage: writes a group of packed requests as one or more JSONL files ({@code {"key",
 * "request"}} lines, copied from the packs as they are) in the staging location: one per part of
 * the group (a part is chosen by a hash of the key), split further only if a part overflows a job
 * limit. A file's name is a hash of the set of its lines, so a replayed group writes the same
 * files under the same names. A key seen twice in a group is a failure (keys are hashed to
 * buckets, so every duplicate of a key meets its first occurrence here).
 */
final class StageFn extends DoFn<KV<Integer, Iterable<Pack>>, ShardRef> {
  /** google.rpc.Code ALREADY_EXISTS, for a duplicate key. */
  static final int ALREADY_EXISTS = 6;
  static final TupleTag<ShardRef> SHARDS = new TupleTag<ShardRef>() {};

  private final BatchSettings settings;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();

  StageFn(BatchSettings settings, TupleTag<GenerateFailure> failures) {
    this.settings = settings;
    this.failures = failures;
  }

  /** On Flink, before the operator declares its stable-input state (see {@link FlinkStableInput}). */
  private void readObject(java.io.ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    FlinkStableInput.registerIfOnFlink();
  }

  @RequiresStableInput
  @ProcessElement
  public void process(@Element KV<Integer, Iterable<Pack>> group, MultiOutputReceiver out)
      throws IOException {
    // One pass (a grouped iterable may not be re-iterable, as on Flink): each file is written
    // under a temporary name and renamed to the hash of its lines once it is complete.
    StageClock clock = new StageClock();
    FingerprintSet seen = new FingerprintSet();
    ShardWriter[] writers = null;
    try (PackSpill.Reader spilled = new PackSpill.Reader()) {
      for (Pack ref : group.getValue()) {
        Pack pack = ref.load(spilled);
        for (GenerateFailure f : pack.failures) {
          metrics.failures.inc();
          out.get(failures).output(f);
        }
        if (writers == null && pack.count > 0) {
          writers = new ShardWriter[pack.parts]; // packs of failures only carry no parts
        }
        for (int i = 0; i < pack.count; i++) {
          int start = pack.lineStart(i);
          int length = pack.ends[i] - start;
          if (!seen.add(pack.keyA(i), pack.keyB(i))) {
            duplicate(pack, start, length, out);
            continue;
          }
          int part = writers.length == 1 ? 0 : (int) Math.floorMod(pack.keyB(i), (long) writers.length);
          ShardWriter writer = writers[part];
          if (writer != null
              && (writer.lines + 1 > settings.maxRequestsPerJob || writer.bytes + length > settings.maxBytesPerJob)) {
            emit(writer.finish(), out, clock);
            writer = null;
          }
          if (writer == null) {
            writer = new ShardWriter(pack.attempt);
            writers[part] = writer;
          }
          writer.write(pack.lines, start, length, pack.lineA(i), pack.lineB(i));
        }
      }
    }
    if (writers != null) {
      for (ShardWriter writer : writers) {
        if (writer != null) {
          emit(writer.finish(), out, clock);
        }
      }
    }
    metrics.stageMillis.inc(clock.millis());
  }

  /** A second line with a key already seen: a failure, not staged. */
  private void duplicate(Pack pack, int start, int length, MultiOutputReceiver out) throws IOException {
    String[] keyAndRequest = ShardLines.keyAndRequest(pack.lines, start, length);
    metrics.failures.inc();
    out.get(failures)
        .output(
            new GenerateFailure(
                keyAndRequest[0],
                keyAndRequest[1],
                GenerateFailure.Stage.VALIDATE,
                ALREADY_EXISTS,
                "duplicate key '" + keyAndRequest[0] + "': keys must be unique within a run",
                null,
                pack.attempt - 1));
  }

  private static void emit(ShardRef shard, MultiOutputReceiver out, StageClock clock) {
    long t = System.nanoTime();
    out.get(SHARDS).output(shard);
    clock.exclude(t);
  }

  /**
   * Writes one shard's lines, counting them and summing each line's hash: sums commute, so the
   * name depends on the set of lines, not their order.
   */
  private final class ShardWriter {
    private final String tempPath;
    private final OutputStream out;
    private final int attempt;
    long lines;
    long bytes;
    private long hashA;
    private long hashB;

    ShardWriter(int attempt) throws IOException {
      this.attempt = attempt;
      this.tempPath = settings.stagingDir + "shards/tmp-" + UUID.randomUUID() + ".jsonl";
      // 1 MB: a system call per MB, and a flush rare enough that the JIT keeps it out of write().
      this.out = new BufferedOutputStream(Staging.create(tempPath), 1 << 20);
    }

    void write(byte[] buf, int off, int len, long lineA, long lineB) throws IOException {
      out.write(buf, off, len);
      lines++;
      bytes += len;
      hashA += lineA;
      hashB += lineB;
    }

    ShardRef finish() throws IOException {
      out.close();
      // The attempt (always 1 now: retry shards are staged by the await step, under ids of
      // their own, see RetryShards) stays part of the id, so that a run staged by an earlier
      // version of the connector is reattached to by the same ids.
      long round = attempt * 0x9E3779B97F4A7C15L;
      String shardId = String.format("%016x%016x", hashA + round, hashB ^ round);
      String path = settings.stagingDir + "shards/" + shardId + ".jsonl";
      Staging.rename(tempPath, path);
      metrics.shardsStaged.inc();
      metrics.bytesStaged.inc(bytes);
      return new ShardRef(shardId, path, lines, bytes, attempt, bytes <= settings.inlineThresholdBytes);
    }
  }
}
