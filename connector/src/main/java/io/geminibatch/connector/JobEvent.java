package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Everything a job's read emits beside its responses, as one kind of element: a failure or a
 * completed job. One side output instead of two, because some runners (Flink in batch) hand every
 * output of a step to each of its consumers, which drop what is not theirs only after decoding
 * it: with the responses beside two other outputs, each response would be decoded three times.
 * Split afterwards, where there are few elements.
 */
final class JobEvent {
  private static final int FAILURE = 0;
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

  static JobEvent completed(CompletedJob c) {
    return new JobEvent(COMPLETED, c);
  }

  /** The failure this event carries, or null. */
  GenerateFailure failure() {
    return type == FAILURE ? (GenerateFailure) value : null;
  }

  /** The completed job this event carries, or null. */
  CompletedJob completedJob() {
    return type == COMPLETED ? (CompletedJob) value : null;
  }

  /** Sends each event to its own output. */
  static final class SplitFn extends DoFn<JobEvent, GenerateFailure> {
    static final TupleTag<CompletedJob> COMPLETED_JOBS = new TupleTag<CompletedJob>() {};
    private final TupleTag<GenerateFailure> failures;

    SplitFn(TupleTag<GenerateFailure> failures) {
      this.failures = failures;
    }

    @ProcessElement
    public void process(@Element JobEvent e, MultiOutputReceiver out) {
      if (e.type == FAILURE) {
        out.get(failures).output((GenerateFailure) e.value);
      } else {
        out.get(COMPLETED_JOBS).output((CompletedJob) e.value);
      }
    }
  }

  static final class JobEventCoder extends ElementCoder<JobEvent> {
    static final JobEventCoder INSTANCE = new JobEventCoder();

    @Override
    public void encode(JobEvent e, OutputStream out) throws IOException {
      out.write(e.type);
      if (e.type == FAILURE) {
        GenerateFailure.FailureCoder.of().encode((GenerateFailure) e.value, out);
      } else {
        CompletedJob.CompletedJobCoder.INSTANCE.encode((CompletedJob) e.value, out);
      }
    }

    @Override
    public JobEvent decode(InputStream in) throws IOException {
      int type = in.read();
      switch (type) {
        case FAILURE:
          return failure(GenerateFailure.FailureCoder.of().decode(in));
        case COMPLETED:
          return completed(CompletedJob.CompletedJobCoder.INSTANCE.decode(in));
        default:
          throw new IOException("unknown job event type " + type);
      }
    }
  }
}
