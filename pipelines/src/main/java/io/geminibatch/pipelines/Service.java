package io.geminibatch.pipelines;

import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiClientConfig;
import io.geminibatch.connector.client.HttpGeminiBatchClient;
import io.geminibatch.connector.client.SecretManagerApiKeyProvider;
import io.geminibatch.testing.GeminiEmulator;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;

/**
 * The service a command talks to: the real Gemini API (or {@code --baseUrl}) when there is an API
 * key, else, for the batch commands, the emulator started in this JVM. The key is read once from
 * the options and cleared there, so that no runner shows, logs or ships it.
 */
final class Service implements AutoCloseable {
  /** The embedded emulator accepts any key; this one is never a secret. */
  private static final String EMULATOR_KEY = "built-in-emulator";

  /** Jobs on the built-in emulator finish this long after they are created. */
  static final Duration EMULATOR_JOB_LATENCY = Duration.ofSeconds(1);

  private final String baseUrl;
  private final ApiKeyProvider apiKey;
  private final GeminiEmulator emulator;

  private Service(String baseUrl, ApiKeyProvider apiKey, GeminiEmulator emulator) {
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
    this.emulator = emulator;
  }

  /** For generate and embed: with no key and no {@code --baseUrl}, starts the emulator. */
  static Service forBatch(ServiceOptions options, Map<String, String> env, PrintStream err)
      throws UsageException, IOException {
    ApiKeyProvider key = apiKey(options, env);
    if (key != null) {
      return new Service(baseUrl(options), key, null);
    }
    if (options.getBaseUrl() != null) {
      throw noKey("--baseUrl " + options.getBaseUrl());
    }
    GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(EMULATOR_JOB_LATENCY).start();
    err.println(
        "gemini-batch: no API key (GEMINI_API_KEY, GOOGLE_API_KEY or --apiKey): running on the"
            + " built-in Gemini Batch API emulator at " + emulator.baseUrl()
            + " (answers are echoes of the prompts, nothing is billed)");
    return new Service(emulator.baseUrl(), ApiKeyProvider.of(EMULATOR_KEY), emulator);
  }

  /** On an emulator started by the caller (the benchmark's); closing the service closes it. */
  static Service onEmulator(GeminiEmulator emulator) {
    return new Service(emulator.baseUrl(), ApiKeyProvider.of(EMULATOR_KEY), emulator);
  }

  /** For jobs: a key is required (a standalone emulator takes any). */
  static Service forJobs(ServiceOptions options, Map<String, String> env) throws UsageException {
    ApiKeyProvider key = apiKey(options, env);
    if (key == null) {
      throw noKey("jobs");
    }
    return new Service(baseUrl(options), key, null);
  }

  private static UsageException noKey(String what) {
    return new UsageException(
        what + " needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) or pass --apiKey=KEY,"
            + " --apiKeySecret=projects/P/secrets/S/versions/V or --apiKeyFile=PATH (a standalone emulator, given with --baseUrl, accepts any key)");
  }

  /**
   * {@code --apiKey}, {@code --apiKeySecret} or {@code --apiKeyFile} (at most one), else the
   * environment. A key from the environment, Secret Manager or a file stays there: the pipeline
   * carries a provider that reads it where it is used, not the key.
   */
  private static ApiKeyProvider apiKey(ServiceOptions options, Map<String, String> env) throws UsageException {
    String key = options.getApiKey();
    options.setApiKey(null);
    String secret = options.getApiKeySecret();
    String file = options.getApiKeyFile();
    int given = (isSet(key) ? 1 : 0) + (isSet(secret) ? 1 : 0) + (isSet(file) ? 1 : 0);
    if (given > 1) {
      throw new UsageException("give the API key one way only: --apiKey, --apiKeySecret or --apiKeyFile");
    }
    if (isSet(options.getSecretManagerEndpoint()) && !isSet(secret)) {
      throw new UsageException("--secretManagerEndpoint is for --apiKeySecret, which is not given");
    }
    try {
      if (isSet(secret)) {
        SecretManagerApiKeyProvider provider = ApiKeyProvider.fromSecretManager(secret.trim());
        String endpoint = options.getSecretManagerEndpoint();
        return isSet(endpoint) ? provider.withEndpoint(endpoint) : provider;
      }
      if (isSet(file)) {
        return ApiKeyProvider.fromFile(file.trim());
      }
    } catch (IllegalArgumentException e) {
      throw new UsageException("--" + (isSet(secret) ? "apiKeySecret" : "apiKeyFile") + ": " + e.getMessage());
    }
    if (key != null && !key.isBlank()) {
      return ApiKeyProvider.of(key);
    }
    if (isSet(env.get("GEMINI_API_KEY")) || isSet(env.get("GOOGLE_API_KEY"))) {
      return ApiKeyProvider.fromEnvironment();
    }
    return null;
  }

  private static boolean isSet(String value) {
    return value != null && !value.isBlank();
  }

  private static String baseUrl(ServiceOptions options) throws UsageException {
    String url = options.getBaseUrl() == null ? GeminiClientConfig.DEFAULT_BASE_URL : options.getBaseUrl();
    try {
      return GeminiClientConfig.builder().baseUrl(url).build().getBaseUrl();
    } catch (IllegalArgumentException e) {
      throw new UsageException("--baseUrl: " + e.getMessage());
    }
  }

  String baseUrl() {
    return baseUrl;
  }

  ApiKeyProvider apiKey() {
    return apiKey;
  }

  boolean isEmulator() {
    return emulator != null;
  }

  /**
   * A client for the command line itself (jobs, progress): few, short retries, so that a dead
   * service is reported in seconds rather than after the pipeline's minutes of backoff.
   */
  GeminiBatchClient client() {
    return new HttpGeminiBatchClient(
        GeminiClientConfig.builder()
            .baseUrl(baseUrl)
            .apiKey(apiKey)
            .connectTimeout(Duration.ofSeconds(10))
            .requestTimeout(Duration.ofSeconds(60))
            .maxRetries(2)
            .initialBackoff(Duration.ofMillis(200))
            .maxBackoff(Duration.ofSeconds(1))
            .build());
  }

  @Override
  public void close() {
    if (emulator != null) {
      emulator.close();
    }
  }
}
