package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** A shard whose job exists on the service: what the await stage watches. */
final class SubmittedJob {
  final ShardRef shard;
  final String jobName;
  /** The uploaded input file ({@code files/...}), or null for an inline job. */
  final String inputFileName;
  final long submitMillis;

  SubmittedJob(ShardRef shard, String jobName, String inputFileName, long submitMillis) {
    this.shard = shard;
    this.jobName = jobName;
    this.inputFileName = inputFileName;
    this.submitMillis = submitMillis;
  }

  @Override
  public String toString() {
    return jobName + " for " + shard;
  }

  static final class SubmittedJobCoder extends ElementCoder<SubmittedJob> {
    static final SubmittedJobCoder INSTANCE = new SubmittedJobCoder();

    @Override
    public void encode(SubmittedJob v, OutputStream out) throws IOException {
      ShardRef.ShardRefCoder.INSTANCE.encode(v.shard, out);
      Codec.writeString(v.jobName, out);
      Codec.writeNullableString(v.inputFileName, out);
      Codec.writeVarLong(v.submitMillis, out);
    }

    @Override
    public SubmittedJob decode(InputStream in) throws IOException {
      return new SubmittedJob(
          ShardRef.ShardRefCoder.INSTANCE.decode(in),
          Codec.readString(in),
          Codec.readNullableString(in),
          Codec.readVarLong(in));
    }
  }
}
