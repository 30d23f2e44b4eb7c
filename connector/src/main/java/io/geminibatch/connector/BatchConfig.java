package io.geminibatch.connector;

import com.google.auto.value.AutoValue;
import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.connector.client.GeminiClientConfig;
import io.geminibatch.connector.client.VertexTarget;
import java.io.Serializable;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/** The settings {@code generate()} and {@code embed()} share, immutable. */
@AutoValue
abstract class BatchConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The Batch API's limit on an input file is 2 GB; stay clear of it. */
  static final long MAX_FILE_BYTES = 2_000_000_000L;
  /** Inline requests must total under 20 MB. */
  static final long MAX_INLINE_BYTES = 20_000_000L;

  abstract String model();

  abstract ApiKeyProvider apiKey();

  abstract String baseUrl();

  abstract String apiVersion();

  abstract @Nullable String stagingLocation();

  abstract long maxRequestsPerJob();

  abstract long maxBytesPerJob();

  abstract long inlineThresholdBytes();

  abstract long maxRequestBytes();

  abstract Duration pollInterval();

  abstract @Nullable Duration maxJobWait();

  abstract Duration maxBufferingDuration();

  abstract int maxAttempts();

  abstract boolean keepArtifacts();

  /** Bytes of a result file claimed, and emitted, at once (see AwaitJobFn). */
  abstract long resultBlockBytes();

  /** Where the read step writes the responses itself (see withResultFiles); null: emitted. */
  abstract @Nullable String resultFiles();

  abstract int maxRetries();

  /** How long a shard may wait for the service's quota before its requests fail. */
  abstract Duration maxQueueWait();

  /** Jobs of this transform active at once, at most; 0 for no pacing. */
  abstract int maxConcurrentJobs();

  /** Estimated prompt tokens of this transform's active jobs, at most; 0 for no pacing. */
  abstract long maxEnqueuedTokens();

  abstract java.time.Duration initialBackoff();

  abstract java.time.Duration maxBackoff();

  abstract @Nullable ErrorHandler<BadRecord, ?> badRecordErrorHandler();

  /** The {@code webhookConfig} of every job created (empty URIs: none). */
  abstract java.util.List<String> webhookUris();

  abstract java.util.Map<String, String> webhookUserMetadata();

  /** Submit and finish without waiting for the jobs (see GeminiBatchIO's withDetach). */
  abstract boolean detached();
  /** Vertex AI's project and location when it is the backend; null for the Gemini API. */
  abstract @Nullable VertexTarget vertex();

  /** Credentials for Vertex AI; null for Application Default Credentials. */
  abstract com.google.auth.oauth2.@Nullable GoogleCredentials googleCredentials();

  abstract Builder toBuilder();

  static BatchConfig defaults(String model) {
    return new AutoValue_BatchConfig.Builder()
        .setModel(model)
        .setApiKey(ApiKeyProvider.fromEnvironment())
        .setBaseUrl(GeminiClientConfig.DEFAULT_BASE_URL)
        .setApiVersion(GeminiClientConfig.DEFAULT_API_VERSION)
        .setMaxRequestsPerJob(10_000)
        .setMaxBytesPerJob(1_000_000_000L)
        .setInlineThresholdBytes(1_000_000L)
        .setMaxRequestBytes(MAX_INLINE_BYTES / 2)
        .setPollInterval(Duration.standardSeconds(30))
        .setMaxBufferingDuration(Duration.standardMinutes(10))
        .setMaxAttempts(3)
        .setKeepArtifacts(false)
        .setResultBlockBytes(32L << 20)
        .setMaxRetries(8)
        .setMaxQueueWait(QueueSettings.DEFAULT_MAX_QUEUE_WAIT)
        .setMaxConcurrentJobs(0)
        .setMaxEnqueuedTokens(0)
        .setInitialBackoff(java.time.Duration.ofSeconds(1))
        .setMaxBackoff(java.time.Duration.ofSeconds(60))
        .setWebhookUris(java.util.List.of())
        .setWebhookUserMetadata(java.util.Map.of())
        .setDetached(false)
        .build();
  }

  GeminiClientConfig clientConfig() {
    return GeminiClientConfig.builder()
        .baseUrl(baseUrl())
        .apiVersion(apiVersion())
        .apiKey(apiKey())
        .maxRetries(maxRetries())
        .initialBackoff(initialBackoff())
        .maxBackoff(maxBackoff())
        .webhookConfig(webhookUris(), webhookUserMetadata())
        .vertex(vertex() == null || googleCredentials() == null ? vertex() : vertex().withCredentials(googleCredentials()))
        .build();
  }

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setModel(String v);

    abstract Builder setApiKey(ApiKeyProvider v);

    abstract Builder setBaseUrl(String v);

    abstract Builder setApiVersion(String v);

    abstract Builder setStagingLocation(String v);

    abstract Builder setMaxRequestsPerJob(long v);

    abstract Builder setMaxBytesPerJob(long v);

    abstract Builder setInlineThresholdBytes(long v);

    abstract Builder setMaxRequestBytes(long v);

    abstract Builder setPollInterval(Duration v);

    abstract Builder setMaxJobWait(Duration v);

    abstract Builder setMaxBufferingDuration(Duration v);

    abstract Builder setMaxAttempts(int v);

    abstract Builder setKeepArtifacts(boolean v);

    abstract Builder setResultBlockBytes(long v);

    abstract Builder setResultFiles(String v);

    abstract Builder setMaxRetries(int v);

    abstract Builder setMaxQueueWait(Duration v);

    abstract Builder setMaxConcurrentJobs(int v);

    abstract Builder setMaxEnqueuedTokens(long v);

    abstract Builder setInitialBackoff(java.time.Duration v);

    abstract Builder setMaxBackoff(java.time.Duration v);

    abstract Builder setBadRecordErrorHandler(ErrorHandler<BadRecord, ?> v);

    abstract Builder setWebhookUris(java.util.List<String> v);

    abstract Builder setWebhookUserMetadata(java.util.Map<String, String> v);

    abstract Builder setDetached(boolean v);
    abstract Builder setVertex(VertexTarget v);

    abstract Builder setGoogleCredentials(com.google.auth.oauth2.GoogleCredentials v);

    abstract BatchConfig build();
  }
}
