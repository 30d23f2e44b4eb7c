package io.geminibatch.pipelines;

import com.fasterxml.jackson.annotation.JsonIgnore;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** Where the Gemini API is: every command's options. */
public interface ServiceOptions extends PipelineOptions {

  /**
   * Never serialized with the pipeline ({@code @JsonIgnore}) and cleared once read, so that no
   * runner shows or logs it.
   */
  @JsonIgnore
  @Description(
      "Gemini API key. Default: GEMINI_API_KEY, then GOOGLE_API_KEY. With none, generate and embed"
          + " run on the built-in emulator.")
  String getApiKey();

  void setApiKey(String apiKey);

  @Description("Base URL of the service (or of a standalone emulator). Default: https://generativelanguage.googleapis.com")
  String getBaseUrl();

  void setBaseUrl(String baseUrl);
}
