package io.geminibatch.connector;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/** The embedding of one {@link EmbedRequest}, matched by key. */
@DefaultCoder(EmbedResponse.ResponseCoder.class)
public final class EmbedResponse {
  private final String key;
  private final float[] values;
  private final String jobName;

  EmbedResponse(String key, float[] values, String jobName) {
    this.key = key;
    this.values = values;
    this.jobName = jobName;
  }

  public String getKey() {
    return key;
  }

  /** The vector. The array is the response's own: do not modify it. */
  @SuppressWarnings("mutable")
  public float[] getValues() {
    return values;
  }

  /** The batch job ({@code batches/...}) that produced this embedding. */
  public String getJobName() {
    return jobName;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof EmbedResponse)) {
      return false;
    }
    EmbedResponse r = (EmbedResponse) o;
    return key.equals(r.key) && Arrays.equals(values, r.values) && Objects.equals(jobName, r.jobName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, Arrays.hashCode(values));
  }

  @Override
  public String toString() {
    return "EmbedResponse{" + key + ", " + values.length + " values}";
  }

  /** Deterministic coder: key, dimension count, the floats as IEEE 754 bits, job name. */
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
      Codec.writeVarInt(v.values.length, out);
      DataOutputStream data = new DataOutputStream(out);
      for (float f : v.values) {
        data.writeFloat(f);
      }
      data.flush();
      Codec.writeNullableString(v.jobName, out);
    }

    @Override
    public EmbedResponse decode(InputStream in) throws IOException {
      String key = Codec.readString(in);
      float[] values = new float[Codec.readVarInt(in)];
      DataInputStream data = new DataInputStream(in);
      for (int i = 0; i < values.length; i++) {
        values[i] = data.readFloat();
      }
      return new EmbedResponse(key, values, Codec.readNullableString(in));
    }
  }
}
