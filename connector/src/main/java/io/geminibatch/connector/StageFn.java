package io.geminibatch.connector;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Stage 3, stage: writes a group of requests as one or more JSONL files ({@code {"key",
 * "request"}} lines) in the staging location, split by the job limits. A file's name is a hash
 * of the set of its requests, so a replayed group writes the same files under the same names. A
 * key seen twice in a group is a failure (keys are hashed to groups, so every duplicate of a key
 * meets its first occurrence here).
 */
final class StageFn extends DoFn<KV<Integer, Iterable<KeyedRequest>>, ShardRef> {
  /** google.rpc.Code ALREADY_EXISTS, for a duplicate key. */
  static final int ALREADY_EXISTS = 6;
  static final TupleTag<ShardRef> SHARDS = new TupleTag<ShardRef>() {};
  private static final byte[] KEY_PREFIX = "{\"key\":".getBytes(StandardCharsets.UTF_8);
  private static final byte[] REQUEST_PREFIX = ",\"request\":".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LINE_END = "}\n".getBytes(StandardCharsets.UTF_8);

  private final BatchSettings settings;
  private final TupleTag<GenerateFailure> failures;
  private final StageMetrics metrics = new StageMetrics();

  StageFn(BatchSettings settings, TupleTag<GenerateFailure> failures) {
    this.settings = settings;
    this.failures = failures;
  }

  @RequiresStableInput
  @ProcessElement
  public void process(@Element KV<Integer, Iterable<KeyedRequest>> group, MultiOutputReceiver out)
      throws IOException {
    // One pass (a grouped iterable may not be re-iterable, as on Flink): each file is written
    // under a temporary name and renamed to the hash of its requests once it is complete.
    StageClock clock = new StageClock();
    Set<String> seen = new HashSet<>();
    ShardWriter writer = null;
    for (KeyedRequest r : group.getValue()) {
      if (!seen.add(r.key)) {
        metrics.failures.inc();
        out.get(failures)
            .output(
                new GenerateFailure(
                    r.key,
                    r.requestJson(),
                    GenerateFailure.Stage.VALIDATE,
                    ALREADY_EXISTS,
                    "duplicate key '" + r.key + "': keys must be unique within a run",
                    null,
                    r.priorAttempts));
        continue;
      }
      if (writer != null
          && (writer.lines + 1 > settings.maxRequestsPerJob
              || writer.estimatedBytes + r.lineBytes() > settings.maxBytesPerJob)) {
        emit(writer.finish(), out, clock);
        writer = null;
      }
      if (writer == null) {
        writer = new ShardWriter(r.priorAttempts + 1);
      }
      writer.write(r);
    }
    if (writer != null) {
      emit(writer.finish(), out, clock);
    }
    metrics.stageMillis.inc(clock.millis());
  }

  private static void emit(ShardRef shard, MultiOutputReceiver out, StageClock clock) {
    long t = System.nanoTime();
    out.get(SHARDS).output(shard);
    clock.exclude(t);
  }

  /**
   * Writes one shard's {@code {"key":K,"request":R}} lines, counting them and summing a hash of
   * each line: sums commute, so the name depends on the set of requests, not their order.
   */
  private final class ShardWriter {
    private final String tempPath;
    private final OutputStream out;
    private final int attempt;
    private final long[] hash = new long[2];
    long lines;
    long bytes;
    long estimatedBytes;
    private long hashA;
    private long hashB;

    ShardWriter(int attempt) throws IOException {
      this.attempt = attempt;
      this.tempPath = settings.stagingDir + "shards/tmp-" + UUID.randomUUID() + ".jsonl";
      this.out = new BufferedOutputStream(Staging.create(tempPath), 1 << 16);
    }

    void write(KeyedRequest r) throws IOException {
      byte[] key = Json.quoteUtf8(r.key);
      out.write(KEY_PREFIX);
      out.write(key);
      out.write(REQUEST_PREFIX);
      out.write(r.request);
      out.write(LINE_END);
      lines++;
      bytes += KEY_PREFIX.length + key.length + REQUEST_PREFIX.length + r.request.length + LINE_END.length;
      estimatedBytes += r.lineBytes();
      // The line's hash: the request's, seeded with the key's.
      Hash128.hash(key, 0, key.length, 0, hash);
      Hash128.hash(r.request, 0, r.request.length, hash[0] ^ hash[1], hash);
      hashA += hash[0];
      hashB += hash[1];
    }

    ShardRef finish() throws IOException {
      out.close();
      String shardId = String.format("%016x%016x", hashA, hashB);
      String path = settings.stagingDir + "shards/" + shardId + ".jsonl";
      Staging.rename(tempPath, path);
      metrics.shardsStaged.inc();
      metrics.bytesStaged.inc(bytes);
      return new ShardRef(shardId, path, lines, bytes, attempt, bytes <= settings.inlineThresholdBytes);
    }
  }
}
