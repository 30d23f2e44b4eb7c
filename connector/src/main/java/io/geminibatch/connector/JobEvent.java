package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Everything a job's read emits beside its responses, as one kind of element: a failure, a
 * request or a shard to retry, or the completed job. One side output instead of four, because
 * some runners (Flink in batch) hand every output of a step to each of its consumers, which drop
 * what is not theirs only after decoding it: with the responses beside four other outputs, each
 * response would be decoded five times. Split afterwards, where there are few elements.
 */
final class JobEvent {
  private static final int FAILURE = 0;
  private static final int RETRY_REQUEST = 1;
  private static final int RETRY_SHARD = 2;
  private static final int COMPLETED = 3;

  private final int type;
  private final Object value;

  private JobEvent(int type, Object value) {
    this.type = type;
    this.value = value;
  }

  static JobEvent failure(GenerateFailure f) {
    return new JobEvent(FAILURE, f);
  }

  static JobEvent retry(KeyedRequest r) {
    return new JobEvent(RETRY_REQUEST, r);
  }

  static JobEvent retry(ShardRef s) {
    return new JobEvent(RETRY_SHARD, s);
  }

  static JobEvent completed(CompletedJob c) {
    return new JobEvent(COMPLETED, c);
  }

  /** Sends each event to its own output. */
  static final class SplitFn extends DoFn<JobEvent, GenerateFailure> {
    static final TupleTag<KeyedRequest> RETRY_REQUESTS = new TupleTag<KeyedRequest>() {};
    static final TupleTag<ShardRef> RETRY_SHARDS = new TupleTag<ShardRef>() {};
    static final TupleTag<CompletedJob> COMPLETED_JOBS = new TupleTag<CompletedJob>() {};
    private final TupleTag<GenerateFailure> failures;

    SplitFn(TupleTag<GenerateFailure> failures) {
      this.failures = failures;
    }

    @ProcessElement
    public void process(@Element JobEvent e, MultiOutputReceiver out) {
      switch (e.type) {
        case FAILURE:
          out.get(failures).output((GenerateFailure) e.value);
          break;
        case RETRY_REQUEST:
          out.get(RETRY_REQUESTS).output((KeyedRequest) e.value);
          break;
        case RETRY_SHARD:
          out.get(RETRY_SHARDS).output((ShardRef) e.value);
          break;
        default:
          out.get(COMPLETED_JOBS).output((CompletedJob) e.value);
      }
    }
  }

  static final class JobEventCoder extends ElementCoder<JobEvent> {
    static final JobEventCoder INSTANCE = new JobEventCoder();

    @Override
    public void encode(JobEvent e, OutputStream out) throws IOException {
      out.write(e.type);
      switch (e.type) {
        case FAILURE:
          GenerateFailure.FailureCoder.of().encode((GenerateFailure) e.value, out);
          break;
        case RETRY_REQUEST:
          KeyedRequest.KeyedRequestCoder.INSTANCE.encode((KeyedRequest) e.value, out);
          break;
        case RETRY_SHARD:
          ShardRef.ShardRefCoder.INSTANCE.encode((ShardRef) e.value, out);
          break;
        default:
          CompletedJob.CompletedJobCoder.INSTANCE.encode((CompletedJob) e.value, out);
      }
    }

    @Override
    public JobEvent decode(InputStream in) throws IOException {
      int type = in.read();
      switch (type) {
        case FAILURE:
          return failure(GenerateFailure.FailureCoder.of().decode(in));
        case RETRY_REQUEST:
          return retry(KeyedRequest.KeyedRequestCoder.INSTANCE.decode(in));
        case RETRY_SHARD:
          return retry(ShardRef.ShardRefCoder.INSTANCE.decode(in));
        case COMPLETED:
          return completed(CompletedJob.CompletedJobCoder.INSTANCE.decode(in));
        default:
          throw new IOException("unknown job event type " + type);
      }
    }
  }
}
