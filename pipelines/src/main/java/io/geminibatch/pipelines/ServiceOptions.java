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

  @Description(
      "Reads the Gemini API key from Secret Manager where it is used (on the workers), with"
          + " Application Default Credentials: projects/PROJECT/secrets/SECRET/versions/VERSION (VERSION a"
          + " number or latest). Only the name goes with the pipeline.")
  String getApiKeySecret();

  void setApiKeySecret(String apiKeySecret);

  @Description(
      "Reads the Gemini API key from this file where it is used (on the workers): any Beam path,"
          + " gs:// included; the file holds the key alone. Only the path goes with the pipeline.")
  String getApiKeyFile();

  void setApiKeyFile(String apiKeyFile);

  @Description("Secret Manager's base URL, for --apiKeySecret (an emulator's). Default: https://secretmanager.googleapis.com")
  String getSecretManagerEndpoint();

  void setSecretManagerEndpoint(String secretManagerEndpoint);

  @Description("Base URL of the service (or of a standalone emulator). Default: https://generativelanguage.googleapis.com")
  String getBaseUrl();

  void setBaseUrl(String baseUrl);
}
