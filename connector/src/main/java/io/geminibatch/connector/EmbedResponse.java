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
 * The embedding of one {@link EmbedRequest}, matched by key. The {@code ContentEmbedding} is kept
 * as the service sent it (UTF-8 JSON, {@code {"values": [...]}}) and read into floats on first use:
 * turning hundreds of decimal numbers into floats is most of the cost of a result, and a pipeline
 * that writes the vectors out as JSON never pays it.
 */
@DefaultCoder(EmbedResponse.ResponseCoder.class)
public final class EmbedResponse {
  private final String key;
  private final byte[] embeddingJson;
  private final String jobName;
  /** Read from the JSON on first use. */
  private transient volatile float[] values;

  EmbedResponse(String key, byte[] embeddingJson, String jobName) {
    this.key = key;
    this.embeddingJson = embeddingJson;
    this.jobName = jobName;
  }

  public String getKey() {
    return key;
  }

  /** The vector. The array is the response's own: do not modify it. */
  @SuppressWarnings("mutable")
  public float[] getValues() {
    float[] v = values;
    if (v == null) {
      v = readValues(embeddingJson);
      values = v;
    }
    return v;
  }

  /** The {@code ContentEmbedding} as the service returned it: {@code {"values": [...]}}. */
  public String getEmbeddingJson() {
    return new String(embeddingJson, StandardCharsets.UTF_8);
  }

  /**
   * The same JSON as UTF-8 bytes, without a copy (for writing it out as it is). The array is the
   * response's own: do not modify it.
   */
  @SuppressWarnings("mutable")
  public byte[] getEmbeddingJsonUtf8() {
    return embeddingJson;
  }

  /** The batch job ({@code batches/...}) that produced this embedding. */
  public String getJobName() {
    return jobName;
  }

  /** The {@code values} of a {@code ContentEmbedding}; empty when it has none. */
  private static float[] readValues(byte[] json) {
    try (JsonParser p = Json.FACTORY.createParser(json)) {
      if (p.nextToken() == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          if (p.nextToken() == JsonToken.START_ARRAY && name.equals("values")) {
            return readFloats(p);
          }
          p.skipChildren();
        }
      }
      return new float[0];
    } catch (IOException e) {
      throw new UncheckedIOException("the embedding's JSON cannot be read", e);
    }
  }

  /** Parses a JSON array of numbers straight into a float array, growing it as needed. */
  private static float[] readFloats(JsonParser p) throws IOException {
    float[] out = new float[768];
    int n = 0;
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT) {
        throw new IOException("embedding.values holds " + Json.kindOf(t) + ", not a number");
      }
      if (n == out.length) {
        out = Arrays.copyOf(out, n * 2);
      }
      out[n++] = p.getFloatValue();
    }
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof EmbedResponse)) {
      return false;
    }
    EmbedResponse r = (EmbedResponse) o;
    return key.equals(r.key) && Arrays.equals(embeddingJson, r.embeddingJson) && Objects.equals(jobName, r.jobName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, Arrays.hashCode(embeddingJson));
  }

  @Override
  public String toString() {
    return "EmbedResponse{" + key + ", " + getValues().length + " values}";
  }

  /** Deterministic coder: key, the embedding's JSON bytes as they are, job name. */
  public static final class ResponseCoder extends ElementCoder<EmbedResponse> {
    private static final ResponseCoder INSTANCE = new ResponseCoder();

    public static ResponseCoder of() {
      return INSTANCE;
    }

    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(EmbedResponse.class), INSTANCE);
    }

    @Override
    public void encode(EmbedResponse v, OutputStream out) throws IOException {
      Codec.writeString(v.key, out);
      Codec.writeBytes(v.embeddingJson, out);
      Codec.writeNullableString(v.jobName, out);
    }

    @Override
    public EmbedResponse decode(InputStream in) throws IOException {
      return new EmbedResponse(Codec.readString(in), Codec.readBytes(in), Codec.readNullableString(in));
    }
  }
}
