package io.geminibatch.connector.client;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything needed to build a {@link GeminiBatchClient}: serializable, so transforms carry it to
 * workers and build the live client there (cached per JVM, see {@link GeminiBatchClients}). It
 * holds no key, only an {@link ApiKeyProvider}, and its {@code toString()} shows no secret.
 */
public final class GeminiClientConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final String DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";
  public static final String DEFAULT_API_VERSION = "v1beta";

  private final String baseUrl;
  private final String apiVersion;
  private final ApiKeyProvider apiKey;
  private final Duration connectTimeout;
  private final Duration requestTimeout;
  private final int maxRetries;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final int uploadChunkBytes;
  private final List<String> webhookUris;
  private final Map<String, String> webhookUserMetadata;

  private GeminiClientConfig(Builder b) {
    this.baseUrl = b.baseUrl;
    this.apiVersion = b.apiVersion;
    this.apiKey = b.apiKey;
    this.connectTimeout = b.connectTimeout;
    this.requestTimeout = b.requestTimeout;
    this.maxRetries = b.maxRetries;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.uploadChunkBytes = b.uploadChunkBytes;
    this.webhookUris = b.webhookUris;
    this.webhookUserMetadata = b.webhookUserMetadata;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.baseUrl = baseUrl;
    b.apiVersion = apiVersion;
    b.apiKey = apiKey;
    b.connectTimeout = connectTimeout;
    b.requestTimeout = requestTimeout;
    b.maxRetries = maxRetries;
    b.initialBackoff = initialBackoff;
    b.maxBackoff = maxBackoff;
    b.uploadChunkBytes = uploadChunkBytes;
    b.webhookUris = webhookUris;
    b.webhookUserMetadata = webhookUserMetadata;
    return b;
  }

  /** Scheme, host and port (and optional path prefix), without a trailing slash. */
  public String getBaseUrl() {
    return baseUrl;
  }

  public String getApiVersion() {
    return apiVersion;
  }

  public ApiKeyProvider getApiKey() {
    return apiKey;
  }

  public Duration getConnectTimeout() {
    return connectTimeout;
  }

  /** Time allowed for one control-plane call (not for streaming a download's body). */
  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  /** Retries of an idempotent call after the first try (408, 429, 5xx, dropped connections). */
  public int getMaxRetries() {
    return maxRetries;
  }

  public Duration getInitialBackoff() {
    return initialBackoff;
  }

  public Duration getMaxBackoff() {
    return maxBackoff;
  }

  /** Size of one resumable-upload chunk. */
  public int getUploadChunkBytes() {
    return uploadChunkBytes;
  }

  /** The URIs of the {@code webhookConfig} sent with every batch create (empty: none). */
  public List<String> getWebhookUris() {
    return webhookUris;
  }

  /** The {@code webhookConfig.userMetadata} sent with every batch create (may be empty). */
  public Map<String, String> getWebhookUserMetadata() {
    return webhookUserMetadata;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof GeminiClientConfig)) {
      return false;
    }
    GeminiClientConfig c = (GeminiClientConfig) o;
    return baseUrl.equals(c.baseUrl)
        && apiVersion.equals(c.apiVersion)
        && apiKey.equals(c.apiKey)
        && connectTimeout.equals(c.connectTimeout)
        && requestTimeout.equals(c.requestTimeout)
        && maxRetries == c.maxRetries
        && initialBackoff.equals(c.initialBackoff)
        && maxBackoff.equals(c.maxBackoff)
        && uploadChunkBytes == c.uploadChunkBytes
        && webhookUris.equals(c.webhookUris)
        && webhookUserMetadata.equals(c.webhookUserMetadata);
  }

  @Override
  public int hashCode() {
    return Objects.hash(baseUrl, apiVersion, apiKey, maxRetries, uploadChunkBytes);
  }

  @Override
  public String toString() {
    return "GeminiClientConfig{" + baseUrl + "/" + apiVersion + ", key from " + apiKey + "}";
  }

  /** Builder with validating setters. */
  public static final class Builder {
    private String baseUrl = DEFAULT_BASE_URL;
    private String apiVersion = DEFAULT_API_VERSION;
    private ApiKeyProvider apiKey = ApiKeyProvider.fromEnvironment();
    private Duration connectTimeout = Duration.ofSeconds(20);
    private Duration requestTimeout = Duration.ofMinutes(2);
    private int maxRetries = 8;
    private Duration initialBackoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofSeconds(60);
    private int uploadChunkBytes = 8 * 1024 * 1024;
    private List<String> webhookUris = List.of();
    private Map<String, String> webhookUserMetadata = Map.of();

    public Builder baseUrl(String v) {
      Objects.requireNonNull(v, "baseUrl");
      URI uri;
      try {
        uri = URI.create(v);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("baseUrl must be an http(s) URL, got '" + v + "'", e);
      }
      if (uri.getScheme() == null
          || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
          || uri.getHost() == null) {
        throw new IllegalArgumentException("baseUrl must be an http(s) URL, got '" + v + "'");
      }
      this.baseUrl = v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
      return this;
    }

    public Builder apiVersion(String v) {
      if (v == null || !v.matches("v[0-9]+[a-z0-9]*")) {
        throw new IllegalArgumentException("apiVersion must look like v1beta, got '" + v + "'");
      }
      this.apiVersion = v;
      return this;
    }

    public Builder apiKey(ApiKeyProvider v) {
      this.apiKey = Objects.requireNonNull(v, "apiKey");
      return this;
    }

    public Builder connectTimeout(Duration v) {
      this.connectTimeout = positive("connectTimeout", v);
      return this;
    }

    public Builder requestTimeout(Duration v) {
      this.requestTimeout = positive("requestTimeout", v);
      return this;
    }

    public Builder maxRetries(int v) {
      if (v < 0 || v > 100) {
        throw new IllegalArgumentException("maxRetries must be in [0, 100], got " + v);
      }
      this.maxRetries = v;
      return this;
    }

    public Builder initialBackoff(Duration v) {
      this.initialBackoff = positive("initialBackoff", v);
      return this;
    }

    public Builder maxBackoff(Duration v) {
      this.maxBackoff = positive("maxBackoff", v);
      return this;
    }

    public Builder uploadChunkBytes(int v) {
      if (v < 256 * 1024) {
        throw new IllegalArgumentException("uploadChunkBytes must be at least 262144, got " + v);
      }
      this.uploadChunkBytes = v;
      return this;
    }

    /**
     * A {@code webhookConfig} for every batch this client creates: the service tells these URIs
     * (instead of the project's registered webhooks) when the batch ends, with {@code
     * userMetadata} in the event. Each URI must be an absolute http(s) URL; empty URIs clear it.
     */
    public Builder webhookConfig(List<String> uris, Map<String, String> userMetadata) {
      List<String> u = new ArrayList<>();
      for (String uri : uris == null ? List.<String>of() : uris) {
        URI parsed;
        try {
          parsed = URI.create(uri == null ? "" : uri);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("webhook URI must be an http(s) URL, got '" + uri + "'", e);
        }
        if (parsed.getScheme() == null
            || !(parsed.getScheme().equals("http") || parsed.getScheme().equals("https"))
            || parsed.getHost() == null) {
          throw new IllegalArgumentException("webhook URI must be an http(s) URL, got '" + uri + "'");
        }
        u.add(uri);
      }
      Map<String, String> m = new LinkedHashMap<>();
      if (userMetadata != null) {
        userMetadata.forEach(
            (k, v) -> {
              if (k == null || k.isEmpty() || v == null) {
                throw new IllegalArgumentException(
                    "webhook user metadata needs non-empty keys and non-null values, got " + k + "=" + v);
              }
              m.put(k, v);
            });
      }
      if (u.isEmpty() && !m.isEmpty()) {
        throw new IllegalArgumentException("webhook user metadata needs at least one webhook URI");
      }
      // Serializable and unmodifiable.
      this.webhookUris = Collections.unmodifiableList(u);
      this.webhookUserMetadata = Collections.unmodifiableMap(m);
      return this;
    }

    private static Duration positive(String name, Duration v) {
      if (v == null || v.isNegative() || v.isZero()) {
        throw new IllegalArgumentException(name + " must be a positive duration, got " + v);
      }
      return v;
    }

    public GeminiClientConfig build() {
      if (initialBackoff.compareTo(maxBackoff) > 0) {
        throw new IllegalArgumentException(
            "initialBackoff (" + initialBackoff + ") must not exceed maxBackoff (" + maxBackoff + ")");
      }
      return new GeminiClientConfig(this);
    }
  }
}
