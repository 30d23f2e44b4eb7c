package io.geminibatch.pipelines;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * {@code benchmark}: its own options. Every option of {@code generate} and {@code embed} and every
 * Beam option (e.g. {@code --runner}, {@code --maxRequestsPerJob}) is passed on to the measured
 * runs.
 */
public interface BenchmarkOptions extends PipelineOptions {

  @Description("Prompts to generate and answer.")
  @Default.Integer(1_000_000)
  Integer getPrompts();

  void setPrompts(Integer prompts);

  @Description("Bytes of each prompt (ASCII).")
  @Default.Integer(1000)
  Integer getPromptBytes();

  void setPromptBytes(Integer promptBytes);

  @Description("Texts to embed (each answer is a vector of 768 floats). Default: a tenth of --prompts.")
  Integer getEmbedPrompts();

  void setEmbedPrompts(Integer embedPrompts);

  @Description("Working directory for the prompts, staged shards and outputs; kept when given."
      + " Default: a temporary directory, deleted at the end.")
  String getWork();

  void setWork(String work);
}
