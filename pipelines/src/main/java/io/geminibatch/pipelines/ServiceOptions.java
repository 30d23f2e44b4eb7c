package io.geminibatch.pipelines;

import com.fasterxml.jackson.annotation.JsonIgnore;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** Where the service is, and which: every command's options. */
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

  @Description(
      "Base URL of the service (or of a standalone emulator). Default: https://generativelanguage.googleapis.com,"
          + " or https://LOCATION-aiplatform.googleapis.com with --backend=vertex")
  String getBaseUrl();

  void setBaseUrl(String baseUrl);

  @Description(
      "gemini: the Gemini API, with an API key. vertex: Vertex AI batch prediction in --project and"
          + " --location, with Google credentials (Application Default Credentials, or --accessToken);"
          + " its staging location must be a gs:// path.")
  @Default.String("gemini")
  String getBackend();

  void setBackend(String backend);

  @Description("Vertex AI location of the jobs, e.g. us-central1 (with --backend=vertex).")
  String getLocation();

  void setLocation(String location);

  /** Like the API key: never serialized, cleared once read. */
  @JsonIgnore
  @Description(
      "OAuth access token for Vertex AI (e.g. from 'gcloud auth print-access-token'; an emulator takes"
          + " any). Default: Application Default Credentials.")
  String getAccessToken();

  void setAccessToken(String accessToken);
}
