package io.geminibatch.connector.client;

/**
 * The two kinds of batch the Gemini Batch API runs. They share every stage but the endpoint and
 * the shape of one request and one response.
 */
public enum BatchKind {
  /** {@code models/{model}:batchGenerateContent}; requests are GenerateContentRequests. */
  GENERATE("batchGenerateContent"),
  /** {@code models/{model}:asyncBatchEmbedContent}; requests are EmbedContentRequests. */
  EMBED("asyncBatchEmbedContent");

  private final String method;

  BatchKind(String method) {
    this.method = method;
  }

  /** The custom method appended to {@code models/{model}:} when creating a batch of this kind. */
  public String createMethod() {
    return method;
  }
}
