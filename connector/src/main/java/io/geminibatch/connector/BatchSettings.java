package io.geminibatch.connector;

import io.geminibatch.connector.client.GeminiClientConfig;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.joda.time.Duration;

/**
 * The settings every stage reads, fixed at {@code expand()}: one serializable value instead of a
 * dozen constructor arguments per DoFn.
 */
final class BatchSettings implements Serializable {
  private static final long serialVersionUID = 1L;

  final GeminiClientConfig client;
  /** {@code models/<id>}. */
  final String model;
  /** The base staging directory for this transform, already scoped (see {@link #scope}). */
  final String stagingDir;
  /** 8 hex chars naming this (kind, model, staging location): part of every display name. */
  final String scope;
  final long maxRequestsPerJob;
  final long maxBytesPerJob;
  final long inlineThresholdBytes;
  final long maxRequestBytes;
  final Duration pollInterval;
  final Duration maxJobWait;
  final int maxAttempts;
  final boolean keepArtifacts;
  final long resultBlockBytes;
  /** Waiting for quota and pacing the submissions; set once by {@code expand()}. */
  QueueSettings queue = QueueSettings.DEFAULT;
  /** The prefix of the result files the read step writes, or null to emit the responses. */
  final String resultFiles;
  /**
   * Names this application of the transform (made when the pipeline is built): its spilled packs
   * go under their own directory, so two transforms sharing a staging location never delete each
   * other's (see {@link PackSpill}).
   */
  final String expansionId = java.util.UUID.randomUUID().toString();

  BatchSettings(
      GeminiClientConfig client,
      String kindName,
      String model,
      String stagingLocation,
      long maxRequestsPerJob,
      long maxBytesPerJob,
      long inlineThresholdBytes,
      long maxRequestBytes,
      Duration pollInterval,
      Duration maxJobWait,
      int maxAttempts,
      boolean keepArtifacts,
      long resultBlockBytes,
      String resultFiles) {
    this.model = model;
    this.scope = scope(kindName, model, stagingLocation);
    this.stagingDir = stagingDir(kindName, model, stagingLocation);
    // Vertex AI jobs read and write objects of their own under the staging directory.
    this.client =
        client.getVertex() == null
            ? client
            : client.toBuilder().vertex(client.getVertex().withStagingDir(stagingDir + "vertex/")).build();
    this.maxRequestsPerJob = maxRequestsPerJob;
    this.maxBytesPerJob = maxBytesPerJob;
    this.inlineThresholdBytes = inlineThresholdBytes;
    this.maxRequestBytes = maxRequestBytes;
    this.pollInterval = pollInterval;
    this.maxJobWait = maxJobWait;
    this.maxAttempts = maxAttempts;
    this.keepArtifacts = keepArtifacts;
    this.resultBlockBytes = resultBlockBytes;
    this.resultFiles = resultFiles;
  }

  /** The display name of a shard's job attempt: deterministic, so a retry can find it. */
  String displayName(ShardRef shard) {
    return "gbio-" + scope + "-" + shard.shardId + "-a" + shard.attempt;
  }

  /** The Files API id asked for a shard's upload (≤ 40 chars of [a-z0-9-]). */
  String fileId(ShardRef shard) {
    return "gb-" + scope + "-" + shard.shardId.substring(0, 27);
  }

  /** The longest poll interval the backoff reaches. */
  Duration maxPollInterval() {
    long poll = pollInterval.getMillis();
    return Duration.millis(Math.max(poll, Math.min(poll * 10, Duration.standardMinutes(10).getMillis())));
  }

  static String scope(String kindName, String model, String stagingLocation) {
    return hash8(kindName + "|" + model + "|" + stagingLocation);
  }

  /** {@code STAGING/gemini-batch-SCOPE/}: where a transform's shards, spills and job ledger live. */
  static String stagingDir(String kindName, String model, String stagingLocation) {
    String base = stagingLocation.endsWith("/") ? stagingLocation : stagingLocation + "/";
    return base + "gemini-batch-" + scope(kindName, model, stagingLocation) + "/";
  }

  private static String hash8(String s) {
    return sha256Hex(s, 4);
  }

  /** The first {@code bytes} bytes of SHA-256 of {@code s} (UTF-8), in lowercase hex. */
  static String sha256Hex(String s, int bytes) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < bytes; i++) {
        sb.append(String.format("%02x", d[i]));
      }
      return sb.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
