package io.geminibatch.pipelines;

import org.apache.beam.sdk.options.Description;

/** {@code embed}: texts to vectors. */
public interface EmbedOptions extends GeminiBatchOptions {

  @Description("Size of the vectors for requests that do not set their own. Default: the model's.")
  Integer getOutputDimensionality();

  void setOutputDimensionality(Integer outputDimensionality);

  @Description("Task type for requests built from plain texts, e.g. RETRIEVAL_DOCUMENT.")
  String getTaskType();

  void setTaskType(String taskType);
}
