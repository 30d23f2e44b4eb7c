package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A validated request on its way to a job: the key and the request JSON exactly as it will be
 * written into the JSONL line, and how many jobs it was already sent in.
 */
final class KeyedRequest {
  final String key;
  final String requestJson;
  final int priorAttempts;

  KeyedRequest(String key, String requestJson, int priorAttempts) {
    this.key = key;
    this.requestJson = requestJson;
    this.priorAttempts = priorAttempts;
  }

  /** Bytes of its JSONL line {@code {"key":...,"request":...}\n}, close enough for sizing. */
  long lineBytes() {
    // ASCII-dominated JSON: the UTF-16 length is a cheap, close lower bound of the UTF-8 length.
    return requestJson.length() + key.length() + 24L;
  }

  byte[] requestBytes() {
    return requestJson.getBytes(StandardCharsets.UTF_8);
  }

  static final class KeyedRequestCoder extends ElementCoder<KeyedRequest> {
    static final KeyedRequestCoder INSTANCE = new KeyedRequestCoder();

    @Override
    public void encode(KeyedRequest v, OutputStream out) throws IOException {
      Codec.writeString(v.key, out);
      Codec.writeString(v.requestJson, out);
      Codec.writeVarInt(v.priorAttempts, out);
    }

    @Override
    public KeyedRequest decode(InputStream in) throws IOException {
      return new KeyedRequest(Codec.readString(in), Codec.readString(in), Codec.readVarInt(in));
    }
  }
}
