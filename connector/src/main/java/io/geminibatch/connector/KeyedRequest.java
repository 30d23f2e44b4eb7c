package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A validated request on its way to a job: the key, the request JSON in UTF-8 exactly as it will
 * be written into the JSONL line (bytes, so that no step decodes or re-encodes it), and how many
 * jobs it was already sent in.
 */
final class KeyedRequest {
  final String key;
  final byte[] request;
  final int priorAttempts;

  KeyedRequest(String key, byte[] request, int priorAttempts) {
    this.key = key;
    this.request = request;
    this.priorAttempts = priorAttempts;
  }

  /** Bytes of its JSONL line {@code {"key":...,"request":...}\n}, close enough for sizing. */
  long lineBytes() {
    // ASCII-dominated keys: the UTF-16 length is a cheap, close lower bound of the UTF-8 length.
    return request.length + key.length() + 24L;
  }

  /** The request as text, for failures. */
  String requestJson() {
    return new String(request, StandardCharsets.UTF_8);
  }

  static final class KeyedRequestCoder extends ElementCoder<KeyedRequest> {
    static final KeyedRequestCoder INSTANCE = new KeyedRequestCoder();

    @Override
    public void encode(KeyedRequest v, OutputStream out) throws IOException {
      Codec.writeString(v.key, out);
      Codec.writeBytes(v.request, out);
      Codec.writeVarInt(v.priorAttempts, out);
    }

    @Override
    public KeyedRequest decode(InputStream in) throws IOException {
      return new KeyedRequest(Codec.readString(in), Codec.readBytes(in), Codec.readVarInt(in));
    }
  }
}
