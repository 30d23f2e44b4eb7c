package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A job whose results (or failures) have all been emitted: what the cleanup stage may delete.
 * When its shard is being retried as a new attempt, the staged shard and uploaded input stay.
 */
final class CompletedJob {
  final SubmittedJob job;
  final String responsesFile;
  final boolean shardRetried;

  CompletedJob(SubmittedJob job, String responsesFile, boolean shardRetried) {
    this.job = job;
    this.responsesFile = responsesFile;
    this.shardRetried = shardRetried;
  }

  static final class CompletedJobCoder extends ElementCoder<CompletedJob> {
    static final CompletedJobCoder INSTANCE = new CompletedJobCoder();

    @Override
    public void encode(CompletedJob v, OutputStream out) throws IOException {
      SubmittedJob.SubmittedJobCoder.INSTANCE.encode(v.job, out);
      Codec.writeNullableString(v.responsesFile, out);
      out.write(v.shardRetried ? 1 : 0);
    }

    @Override
    public CompletedJob decode(InputStream in) throws IOException {
      return new CompletedJob(
          SubmittedJob.SubmittedJobCoder.INSTANCE.decode(in), Codec.readNullableString(in), in.read() == 1);
    }
  }
}
