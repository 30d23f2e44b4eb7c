package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * The model's answer to one {@link GenerateRequest}, matched by key. The whole {@code
 * GenerateContentResponse} is kept as the service sent it (UTF-8 JSON); the token counts are read
 * when the result line is parsed, the text and finish reason on first use (a pipeline that only
 * writes the JSON out never pays for them).
 */
@DefaultCoder(GenerateResponse.ResponseCoder.class)
public final class GenerateResponse {
  private final String key;
  private final byte[] responseJson;
  private final long promptTokenCount;
  private final long candidatesTokenCount;
  private final long totalTokenCount;
  private final String jobName;
  /** Read from the JSON on first use. */
  private transient volatile Candidate candidate;

  GenerateResponse(
      String key,
      byte[] responseJson,
      long promptTokenCount,
      long candidatesTokenCount,
      long totalTokenCount,
      String jobName) {
    this.key = key;
    this.responseJson = responseJson;
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
    return new String(responseJson, StandardCharsets.UTF_8);
  }

  /**
   * The same JSON as UTF-8 bytes, without a copy (for writing it out as it is). The array is the
   * response's own: do not modify it.
   */
  @SuppressWarnings("mutable")
  public byte[] getResponseJsonUtf8() {
    return responseJson;
  }

  /** The text parts of the first candidate (thoughts left out), concatenated; empty when none. */
  public String getText() {
    return candidate().text;
  }

  /** The first candidate's {@code finishReason} (e.g. {@code STOP}), or null. */
  public String getFinishReason() {
    return candidate().finishReason;
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

  private Candidate candidate() {
    Candidate c = candidate;
    if (c == null) {
      c = Candidate.read(responseJson);
      candidate = c;
    }
    return c;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof GenerateResponse)) {
      return false;
    }
    GenerateResponse r = (GenerateResponse) o;
    return key.equals(r.key)
        && Arrays.equals(responseJson, r.responseJson)
        && Objects.equals(jobName, r.jobName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, Arrays.hashCode(responseJson));
  }

  @Override
  public String toString() {
    return "GenerateResponse{" + key + ": " + getText() + "}";
  }

  /** The first candidate's text and finish reason. */
  private static final class Candidate {
    final String text;
    final String finishReason;

    private Candidate(String text, String finishReason) {
      this.text = text;
      this.finishReason = finishReason;
    }

    static Candidate read(byte[] json) {
      StringBuilder text = new StringBuilder();
      String[] finishReason = {null};
      try (JsonParser p = Json.FACTORY.createParser(json)) {
        if (p.nextToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            if (p.nextToken() == JsonToken.START_ARRAY && field.equals("candidates")) {
              if (p.nextToken() == JsonToken.START_OBJECT) {
                readCandidate(p, text, finishReason);
              }
              break;
            }
            p.skipChildren();
          }
        }
      } catch (IOException e) {
        // The response was checked when it was read; a JSON that cannot be walked has no text.
        throw new UncheckedIOException("GenerateResponse JSON cannot be read", e);
      }
      return new Candidate(text.toString(), finishReason[0]);
    }

    /** Reads a candidate: its text parts (thoughts left out) and finish reason. */
    private static void readCandidate(JsonParser p, StringBuilder text, String[] finishReason) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("finishReason")) {
          finishReason[0] = p.getValueAsString();
        } else if (field.equals("content") && value == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("parts") && v == JsonToken.START_ARRAY) {
              while (p.nextToken() == JsonToken.START_OBJECT) {
                readPart(p, text);
              }
            } else {
              p.skipChildren();
            }
          }
        } else {
          p.skipChildren();
        }
      }
    }

    private static void readPart(JsonParser p, StringBuilder out) throws IOException {
      String text = null;
      boolean thought = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (name.equals("text") && v == JsonToken.VALUE_STRING) {
          text = p.getText();
        } else if (name.equals("thought")) {
          thought = v == JsonToken.VALUE_TRUE;
        } else {
          p.skipChildren();
        }
      }
      if (text != null && !thought) {
        out.append(text);
      }
    }
  }

  /**
   * Deterministic coder for {@link GenerateResponse}: the key, the JSON's bytes as they are, the
   * token counts and the job. Decoding copies bytes; no text is decoded until it is used.
   */
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
      Codec.writeBytes(v.responseJson, out);
      Codec.writeVarLong(v.promptTokenCount, out);
      Codec.writeVarLong(v.candidatesTokenCount, out);
      Codec.writeVarLong(v.totalTokenCount, out);
      Codec.writeNullableString(v.jobName, out);
    }

    @Override
    public GenerateResponse decode(InputStream in) throws IOException {
      return new GenerateResponse(
          Codec.readString(in),
          Codec.readBytes(in),
          Codec.readVarLong(in),
          Codec.readVarLong(in),
          Codec.readVarLong(in),
          Codec.readNullableString(in));
    }
  }
}
