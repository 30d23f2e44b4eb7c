package io.geminibatch.pipelines;

import io.geminibatch.connector.GeminiBatchIO;
import io.geminibatch.connector.GenerateFailure;
import io.geminibatch.connector.GenerateRequest;
import io.geminibatch.connector.GenerateResponse;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;

/** {@code generate}: prompts to {@code {"key", "response"}} lines. */
final class GenerateCommand
    extends BatchCommand<GenerateRequest, GenerateResponse, GeminiBatchIO.GenerateResult, GenerateOptions> {

  GenerateCommand() {
    super("generate", GenerateOptions.class, "gemini-2.5-flash");
  }

  @Override
  Coder<GenerateRequest> inputCoder() {
    return GenerateRequest.RequestCoder.of();
  }

  @Override
  SerializableBiFunction<String, String, GenerateRequest> fromPrompt() {
    return GenerateRequest::ofPrompt;
  }

  @Override
  SerializableBiFunction<String, String, GenerateRequest> fromRequest() {
    return GenerateRequest::of;
  }

  @Override
  PTransform<PCollection<GenerateRequest>, GeminiBatchIO.GenerateResult> transform(
      GenerateOptions options, Shared shared) {
    GeminiBatchIO.Generate generate = shared.configure(GeminiBatchIO.generate());
    if (options.getSystemInstruction() != null) {
      generate = generate.withSystemInstruction(options.getSystemInstruction());
    }
    if (options.getGenerationConfig() != null) {
      generate = generate.withGenerationConfig(options.getGenerationConfig());
    }
    return generate;
  }

  @Override
  PCollection<GenerateResponse> outputs(GeminiBatchIO.GenerateResult result) {
    return result.getResponses();
  }

  @Override
  PCollection<GenerateFailure> failures(GeminiBatchIO.GenerateResult result) {
    return result.getFailures();
  }

  @Override
  SerializableFunction<GenerateResponse, byte[]> outputLine() {
    return JsonLines::response;
  }
}
