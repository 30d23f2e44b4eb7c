package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;

/**
 * What {@link GenerateRequest} and {@link EmbedRequest} have in common: a key and either a plain
 * text (the transform builds the request) or a whole request as JSON.
 */
abstract class KeyedInput {
  final String key;
  final String text;
  final String requestJson;

  KeyedInput(String key, String text, String requestJson) {
    this.key = key;
    this.text = text;
    this.requestJson = requestJson;
  }

  public String getKey() {
    return key;
  }

  /** The request JSON when given whole, else null. */
  public String getRequestJson() {
    return requestJson;
  }

  @Override
  public boolean equals(Object o) {
    if (o == null || o.getClass() != getClass()) {
      return false;
    }
    KeyedInput r = (KeyedInput) o;
    return Objects.equals(key, r.key)
        && Objects.equals(text, r.text)
        && Objects.equals(requestJson, r.requestJson);
  }

  @Override
  public int hashCode() {
    return Objects.hash(key, text, requestJson);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "{" + key + "}";
  }

  /** Coder of a {@link KeyedInput} subclass: key, text, request JSON, each nullable. */
  abstract static class InputCoder<T extends KeyedInput> extends ElementCoder<T> {
    abstract T create(String key, String text, String requestJson);

    @Override
    public void encode(T value, OutputStream out) throws IOException {
      Codec.writeNullableString(value.key, out);
      Codec.writeNullableString(value.text, out);
      Codec.writeNullableString(value.requestJson, out);
    }

    @Override
    public T decode(InputStream in) throws IOException {
      return create(
          Codec.readNullableString(in), Codec.readNullableString(in), Codec.readNullableString(in));
    }
  }
}
