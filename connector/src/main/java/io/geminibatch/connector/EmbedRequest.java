package io.geminibatch.connector;

import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * One text for {@link GeminiBatchIO#embed()}: a key unique within the run and either the text
 * (the transform builds the {@code EmbedContentRequest}, applying its task type and
 * dimensionality) or a whole {@code EmbedContentRequest} as JSON.
 */
@DefaultCoder(EmbedRequest.RequestCoder.class)
public final class EmbedRequest extends KeyedInput {

  private EmbedRequest(String key, String text, String requestJson) {
    super(key, text, requestJson);
  }

  /** A text to embed; the request is built by the transform. */
  public static EmbedRequest ofText(String key, String text) {
    return new EmbedRequest(key, text == null ? "" : text, null);
  }

  /**
   * A whole {@code EmbedContentRequest} as JSON, e.g. {@code
   * {"content":{"parts":[{"text":"..."}]},"taskType":"RETRIEVAL_DOCUMENT"}}.
   */
  public static EmbedRequest of(String key, String requestJson) {
    return new EmbedRequest(key, null, requestJson == null ? "" : requestJson);
  }

  /** The text when built with {@link #ofText}, else null. */
  public String getText() {
    return text;
  }

  /** Deterministic coder for {@link EmbedRequest}. */
  public static final class RequestCoder extends InputCoder<EmbedRequest> {
    private static final RequestCoder INSTANCE = new RequestCoder();

    public static RequestCoder of() {
      return INSTANCE;
    }

    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(EmbedRequest.class), INSTANCE);
    }

    @Override
    EmbedRequest create(String key, String text, String requestJson) {
      return new EmbedRequest(key, text, requestJson);
    }
  }
}
