package io.geminibatch.pipelines;

import io.geminibatch.connector.EmbedRequest;
import io.geminibatch.connector.EmbedResponse;
import io.geminibatch.connector.GeminiBatchIO;
import io.geminibatch.connector.GenerateFailure;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;

/** {@code embed}: texts to {@code {"key", "embedding": {"values"}}} lines. */
final class EmbedCommand
    extends BatchCommand<EmbedRequest, EmbedResponse, GeminiBatchIO.EmbedResult, EmbedOptions> {

  EmbedCommand() {
    super("embed", EmbedOptions.class, "gemini-embedding-001");
  }

  @Override
  Coder<EmbedRequest> inputCoder() {
    return EmbedRequest.RequestCoder.of();
  }

  @Override
  SerializableBiFunction<String, String, EmbedRequest> fromPrompt() {
    return EmbedRequest::ofText;
  }

  @Override
  SerializableBiFunction<String, String, EmbedRequest> fromRequest() {
    return EmbedRequest::of;
  }

  @Override
  PTransform<PCollection<EmbedRequest>, GeminiBatchIO.EmbedResult> transform(
      EmbedOptions options, Shared shared) {
    GeminiBatchIO.Embed embed = shared.configure(GeminiBatchIO.embed());
    if (options.getOutputDimensionality() != null) {
      embed = embed.withOutputDimensionality(options.getOutputDimensionality());
    }
    if (options.getTaskType() != null) {
      embed = embed.withTaskType(options.getTaskType());
    }
    return embed;
  }

  @Override
  PCollection<EmbedResponse> outputs(GeminiBatchIO.EmbedResult result) {
    return result.getEmbeddings();
  }

  @Override
  PCollection<GenerateFailure> failures(GeminiBatchIO.EmbedResult result) {
    return result.getFailures();
  }

  @Override
  SerializableFunction<EmbedResponse, byte[]> outputLine() {
    return JsonLines::embedding;
  }
}
