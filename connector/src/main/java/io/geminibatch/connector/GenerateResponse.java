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
 * The model's answer to one {@link GenerateRequest}, matched by key. The whole {@code
 * GenerateContentResponse} is kept as JSON; the commonly used parts are read out once, when the
 * result line is parsed.
 */
@DefaultCoder(GenerateResponse.ResponseCoder.class)
public final class GenerateResponse {
  private final String key;
  private final String responseJson;
  private final String text;
  private final String finishReason;
  private final long promptTokenCount;
  private final long candidatesTokenCount;
  private final long totalTokenCount;
  private final String jobName;

  GenerateResponse(
      String key,
      String responseJson,
      String text,
      String finishReason,
      long promptTokenCount,
      long candidatesTokenCount,
      long totalTokenCount,
      String jobName) {
    this.key = key;
    this.responseJson = responseJson;
    this.text = text;
    this.finishReason = finishReason;
    this.promptTokenCount = promptTokenCount;
    this.candidatesTokenCount = candidatesTokenCount;
    this.totalTokenCount = totalTokenCount;
    this.jobName = jobName;
  }

  /** The key of the request this answers. */
  public String getKey() {
    return key;
  }

  /** The {@code GenerateContentResponse} exactly as the service returned it. */
  public String getResponseJson() {
    return responseJson;
  }

  /** The text parts of the first candidate, concatenated; empty when it has none. */
  public String getText() {
    return text;
  }

  /** The first candidate's {@code finishReason} (e.g. {@code STOP}), or null. */
  public String getFinishReason() {
    return finishReason;
  }

  public long getPromptTokenCount() {
    return promptTokenCount;
  }

  public long getCandidatesTokenCount() {
    return candidatesTokenCount;
  }

  public long getTotalTokenCount() {
    return totalTokenCount;
  }

  /** The batch job ({@code batches/...}) that produced this response. */
  public String getJobName() {
    return jobName;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof GenerateResponse)) {
      return false;
    }
    GenerateResponse r = (GenerateResponse) o;
    return key.equals(r.key)
        && responseJson.equals(r.responseJson)
        && Objects.equals(jobName, r.jobName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, responseJson);
  }

  @Override
  public String toString() {
    return "GenerateResponse{" + key + ": " + text + "}";
  }

  /** Deterministic coder for {@link GenerateResponse}. */
  public static final class ResponseCoder extends ElementCoder<GenerateResponse> {
    private static final ResponseCoder INSTANCE = new ResponseCoder();

    public static ResponseCoder of() {
      return INSTANCE;
    }

    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(GenerateResponse.class), INSTANCE);
    }

    @Override
    public void encode(GenerateResponse v, OutputStream out) throws IOException {
      Codec.writeString(v.key, out);
      Codec.writeString(v.responseJson, out);
      Codec.writeString(v.text, out);
      Codec.writeNullableString(v.finishReason, out);
      Codec.writeVarLong(v.promptTokenCount, out);
      Codec.writeVarLong(v.candidatesTokenCount, out);
      Codec.writeVarLong(v.totalTokenCount, out);
      Codec.writeNullableString(v.jobName, out);
    }

    @Override
    public GenerateResponse decode(InputStream in) throws IOException {
      return new GenerateResponse(
          Codec.readString(in),
          Codec.readString(in),
          Codec.readString(in),
          Codec.readNullableString(in),
          Codec.readVarLong(in),
          Codec.readVarLong(in),
          Codec.readVarLong(in),
          Codec.readNullableString(in));
    }
  }
}
