package io.geminibatch.connector;

import org.apache.beam.sdk.coders.CoderProvider;
import org.apache.beam.sdk.coders.CoderProviders;
import org.apache.beam.sdk.coders.DefaultCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * One prompt for {@link GeminiBatchIO#generate()}: a key unique within the run and either a plain
 * prompt (the transform builds the request, applying its system instruction and generation
 * config) or a whole {@code GenerateContentRequest} as JSON, sent as it is.
 */
@DefaultCoder(GenerateRequest.RequestCoder.class)
public final class GenerateRequest extends KeyedInput {

  private GenerateRequest(String key, String prompt, String requestJson) {
    super(key, prompt, requestJson);
  }

  /** A text prompt; the request is built by the transform. */
  public static GenerateRequest ofPrompt(String key, String prompt) {
    return new GenerateRequest(key, prompt == null ? "" : prompt, null);
  }

  /**
   * A whole {@code GenerateContentRequest} in the API's JSON (camelCase or snake_case), e.g.
   * {@code {"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.2}}}.
   */
  public static GenerateRequest of(String key, String requestJson) {
    return new GenerateRequest(key, null, requestJson == null ? "" : requestJson);
  }

  /** The prompt when built with {@link #ofPrompt}, else null. */
  public String getPrompt() {
    return text;
  }

  /** Deterministic coder for {@link GenerateRequest}. */
  public static final class RequestCoder extends InputCoder<GenerateRequest> {
    private static final RequestCoder INSTANCE = new RequestCoder();

    public static RequestCoder of() {
      return INSTANCE;
    }

    public static CoderProvider getCoderProvider() {
      return CoderProviders.forCoder(TypeDescriptor.of(GenerateRequest.class), INSTANCE);
    }

    @Override
    GenerateRequest create(String key, String text, String requestJson) {
      return new GenerateRequest(key, text, requestJson);
    }
  }
}
