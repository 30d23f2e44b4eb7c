package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * A request that did not produce a result, from {@link GeminiBatchIO#generate()} or {@link
 * GeminiBatchIO#embed()}, with the reason. Every input ends as exactly one response or one
 * failure.
 */
@DefaultCoder(GenerateFailure.FailureCoder.class)
public final class GenerateFailure {

  /** Where in the connector the request failed. */
  public enum Stage {
    /** Rejected before sending: bad JSON, missing field, too large, duplicate key. */
    VALIDATE,
    /** The job could not be created (e.g. unknown model). */
    SUBMIT,
    /** The job ended FAILED, EXPIRED or CANCELLED, after the allowed attempts. */
    JOB,
    /** The job succeeded but this request's result is an error, or is missing. */
    RESULT
  }

  private final String key;
  private final String requestJson;
  private final Stage stage;
  private final int errorCode;
  private final String message;
  private final String jobName;
  private final int attempts;

  GenerateFailure(
      String key,
      String requestJson,
      Stage stage,
      int errorCode,
      String message,
      String jobName,
      int attempts) {
    this.key = key;
    this.requestJson = requestJson;
    this.stage = stage;
    this.errorCode = errorCode;
    this.message = message;
    this.jobName = jobName;
    this.attempts = attempts;
  }

  /** The request's key (may be null or empty when that is what was wrong). */
  public String getKey() {
    return key;
  }

  /** The request as JSON, as it was (or would have been) sent. */
  public String getRequestJson() {
    return requestJson;
  }

  public Stage getStage() {
    return stage;
  }

  /**
   * A {@code google.rpc.Code} value: the service's own code for results and jobs (e.g. 13
   * INTERNAL, 1 CANCELLED, 4 DEADLINE_EXCEEDED for an expired job), 3 INVALID_ARGUMENT for input
   * the connector rejected, 6 ALREADY_EXISTS for a duplicate key.
   */
  public int getErrorCode() {
    return errorCode;
  }

  /** What went wrong, naming the field and value for input errors, or the service's message. */
  public String getMessage() {
    return message;
  }

  /** The batch job involved ({@code batches/...}), or null when none was. */
  public String getJobName() {
    return jobName;
  }

  /** How many jobs this request was sent in (0 when it was never sent). */
  public int getAttempts() {
    return attempts;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof GenerateFailure)) {
      return false;
    }
    GenerateFailure f = (GenerateFailure) o;
    return Objects.equals(key, f.key)
        && Objects.equals(requestJson, f.requestJson)
        && stage == f.stage
        && errorCode == f.errorCode
        && Objects.equals(message, f.message)
        && Objects.equals(jobName, f.jobName)
        && attempts == f.attempts;
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, stage, errorCode, message, jobName);
  }

  @Override
  public String toString() {
    return "GenerateFailure{" + key + ", " + stage + ", code " + errorCode + ": " + message
        + (jobName == null ? "" : ", job " + jobName) + ", attempts " + attempts + "}";
  }

  /** Deterministic coder for {@link GenerateFailure}. */
  public static final class FailureCoder extends ElementCoder<GenerateFailure> {
    private static final FailureCoder INSTANCE = new FailureCoder();

    public static FailureCoder of() {
      return INSTANCE;
    }

    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(GenerateFailure.class), INSTANCE);
    }

    @Override
    public void encode(GenerateFailure v, OutputStream out) throws IOException {
      Codec.writeNullableString(v.key, out);
      Codec.writeNullableString(v.requestJson, out);
      Codec.writeVarInt(v.stage.ordinal(), out);
      Codec.writeVarInt(v.errorCode, out);
      Codec.writeNullableString(v.message, out);
      Codec.writeNullableString(v.jobName, out);
      Codec.writeVarInt(v.attempts, out);
    }

    @Override
    public GenerateFailure decode(InputStream in) throws IOException {
      return new GenerateFailure(
          Codec.readNullableString(in),
          Codec.readNullableString(in),
          Stage.values()[Codec.readVarInt(in)],
          Codec.readVarInt(in),
          Codec.readNullableString(in),
          Codec.readNullableString(in),
          Codec.readVarInt(in));
    }
  }
}
