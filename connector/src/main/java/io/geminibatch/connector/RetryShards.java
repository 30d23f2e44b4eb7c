package io.geminibatch.connector;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.UUID;

/**
 * The retry shards of an element of {@link AwaitJobFn}: the requests of one attempt's job that
 * failed with a retryable error, staged as a shard of their own for the next attempt. Its id, and
 * so its file, upload and display name, derive from the element's shard and the attempt that
 * first sends it; its lines depend only on the job's results, so every pass that stages it writes
 * the same file, and a resumed read finds it by name.
 */
final class RetryShards {
  private RetryShards() {}

  /** The id of retry shard {@code retryShard} (the attempt index that first sends it) of a shard. */
  static String id(ShardRef elementShard, int retryShard) {
    return BatchSettings.sha256Hex(elementShard.shardId + "/a" + elementShard.attempt + "/retry" + retryShard, 16);
  }

  static String path(BatchSettings settings, ShardRef elementShard, int retryShard) {
    return settings.stagingDir + "shards/" + id(elementShard, retryShard) + ".jsonl";
  }

  /** The staged retry shard, its lines and bytes counted from its file. */
  static ShardRef ref(BatchSettings settings, ShardRef elementShard, int retryShard) throws IOException {
    String path = path(settings, elementShard, retryShard);
    long lines = 0;
    long bytes = 0;
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Staging.open(path)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        bytes += n;
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            lines++;
          }
        }
      }
    }
    return new ShardRef(
        id(elementShard, retryShard), path, lines, bytes, elementShard.attempt + retryShard, bytes <= settings.inlineThresholdBytes);
  }

  /** Stages a retry shard: lines written under a temporary name, renamed to its own on commit. */
  static final class Writer {
    private final BatchSettings settings;
    private final ShardRef elementShard;
    private final int retryShard;
    private String tempPath;
    private OutputStream out;
    private long lines;

    Writer(BatchSettings settings, ShardRef elementShard, int retryShard) {
      this.settings = settings;
      this.elementShard = elementShard;
      this.retryShard = retryShard;
    }

    /** Writes one staged line ({@code {"key", "request"}}, without its newline). */
    void write(byte[] buf, int off, int len) throws IOException {
      if (out == null) {
        tempPath = settings.stagingDir + "shards/tmp-" + UUID.randomUUID() + ".jsonl";
        out = new BufferedOutputStream(Staging.create(tempPath), 1 << 16);
      }
      out.write(buf, off, len);
      out.write('\n');
      lines++;
    }

    /** Puts the shard in place; false (and nothing staged) when no line was written. */
    boolean commit() throws IOException {
      if (out == null) {
        return false;
      }
      out.close();
      out = null;
      Staging.rename(tempPath, path(settings, elementShard, retryShard));
      return lines > 0;
    }

    void abort() {
      try {
        if (out != null) {
          out.close();
          out = null;
        }
        if (tempPath != null) {
          Staging.delete(tempPath);
        }
      } catch (IOException ignored) {
        // A temporary file left behind costs storage, not a result.
      }
    }
  }
}
