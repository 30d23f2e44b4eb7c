package io.geminibatch.connector.client;

import java.io.Serializable;

/**
 * Supplies the API key where the client is built (on the worker). Serializable so a transform can
 * carry it; {@link #fromEnvironment()} carries nothing secret at all, which is the choice for
 * runners that stage the serialized pipeline (Dataflow). Implementations must keep the key out of
 * {@code toString()}, and should define {@code equals}/{@code hashCode} by value: {@link
 * GeminiBatchClients} shares one client per equal {@link GeminiClientConfig}.
 */
@FunctionalInterface
public interface ApiKeyProvider extends Serializable {

  /** The key, or null when none is configured. */
  String get();

  /**
   * True when the key is read only where it is used (on the workers), never where the pipeline is
   * built: {@link #fromSecretManager} and {@link #fromFile}, whose source the launching machine
   * may not be able to read. Such providers are not asked for the key at construction.
   */
  default boolean readWhereUsed() {
    return false;
  }

  /**
   * The key in a Secret Manager secret version, {@code projects/P/secrets/S/versions/V} ({@code V}
   * a number or {@code latest}), read on the workers with Application Default Credentials; see
   * {@link SecretManagerApiKeyProvider}.
   */
  static SecretManagerApiKeyProvider fromSecretManager(String secretVersion) {
    return new SecretManagerApiKeyProvider(secretVersion, SecretManagerApiKeyProvider.DEFAULT_ENDPOINT);
  }

  /**
   * The key in a file, any Beam path ({@code gs://} included), read on the workers; see {@link
   * FileApiKeyProvider}.
   */
  static FileApiKeyProvider fromFile(String path) {
    return new FileApiKeyProvider(path);
  }

  /** {@code GEMINI_API_KEY}, then {@code GOOGLE_API_KEY}, read from the environment where used. */
  static ApiKeyProvider fromEnvironment() {
    return new EnvironmentApiKeyProvider();
  }

  /** A fixed key. It is serialized with the transform; its {@code toString()} is redacted. */
  static ApiKeyProvider of(String key) {
    return new FixedApiKeyProvider(key);
  }

  /** Reads the environment variables named in {@link #fromEnvironment()}. */
  final class EnvironmentApiKeyProvider implements ApiKeyProvider {
    private static final long serialVersionUID = 1L;

    @Override
    public String get() {
      String key = System.getenv("GEMINI_API_KEY");
      if (key == null || key.isEmpty()) {
        key = System.getenv("GOOGLE_API_KEY");
      }
      return key == null || key.isEmpty() ? null : key;
    }

    /** All instances are equal, so configs using it share one cached client. */
    @Override
    public boolean equals(Object o) {
      return o instanceof EnvironmentApiKeyProvider;
    }

    @Override
    public int hashCode() {
      return EnvironmentApiKeyProvider.class.hashCode();
    }

    @Override
    public String toString() {
      return "environment (GEMINI_API_KEY, GOOGLE_API_KEY)";
    }
  }

  /** A key given in code or on the command line. */
  final class FixedApiKeyProvider implements ApiKeyProvider {
    private static final long serialVersionUID = 1L;
    private final String key;

    FixedApiKeyProvider(String key) {
      if (key == null || key.trim().isEmpty()) {
        throw new IllegalArgumentException("apiKey must be a non-empty string");
      }
      this.key = key;
    }

    @Override
    public String get() {
      return key;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof FixedApiKeyProvider && ((FixedApiKeyProvider) o).key.equals(key);
    }

    @Override
    public int hashCode() {
      return key.hashCode();
    }

    @Override
    public String toString() {
      return "fixed key (redacted)";
    }
  }
}
