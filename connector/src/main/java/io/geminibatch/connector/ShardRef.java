package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A staged shard, ready for a job: its content-derived id, the JSONL file in the staging
 * location, its size, and which attempt (1-based) the next job for it is. The id depends only on
 * the set of requests, so a retried bundle stages the same shard under the same name.
 */
final class ShardRef {
  final String shardId;
  final String stagedPath;
  final long requestCount;
  final long byteSize;
  final int attempt;
  final boolean inline;

  ShardRef(
      String shardId, String stagedPath, long requestCount, long byteSize, int attempt, boolean inline) {
    this.shardId = shardId;
    this.stagedPath = stagedPath;
    this.requestCount = requestCount;
    this.byteSize = byteSize;
    this.attempt = attempt;
    this.inline = inline;
  }

  ShardRef nextAttempt() {
    return withAttempt(attempt + 1);
  }

  ShardRef withAttempt(int attempt) {
    return new ShardRef(shardId, stagedPath, requestCount, byteSize, attempt, inline);
  }

  @Override
  public String toString() {
    return "shard " + shardId + " attempt " + attempt + " (" + requestCount + " requests)";
  }

  static final class ShardRefCoder extends ElementCoder<ShardRef> {
    static final ShardRefCoder INSTANCE = new ShardRefCoder();

    @Override
    public void encode(ShardRef v, OutputStream out) throws IOException {
      Codec.writeString(v.shardId, out);
      Codec.writeString(v.stagedPath, out);
      Codec.writeVarLong(v.requestCount, out);
      Codec.writeVarLong(v.byteSize, out);
      Codec.writeVarInt(v.attempt, out);
      out.write(v.inline ? 1 : 0);
    }

    @Override
    public ShardRef decode(InputStream in) throws IOException {
      return new ShardRef(
          Codec.readString(in),
          Codec.readString(in),
          Codec.readVarLong(in),
          Codec.readVarLong(in),
          Codec.readVarInt(in),
          in.read() == 1);
    }
  }
}
