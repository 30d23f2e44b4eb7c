package io.geminibatch.pipelines;

import org.apache.beam.sdk.options.Description;

/** {@code generate}: prompts to answers. */
public interface GenerateOptions extends GeminiBatchOptions {

  @Description("System instruction for requests built from plain prompts.")
  String getSystemInstruction();

  void setSystemInstruction(String systemInstruction);

  @Description(
      "GenerationConfig as JSON for requests built from plain prompts, e.g. {\"temperature\":0.2}.")
  String getGenerationConfig();

  void setGenerationConfig(String generationConfig);
}
