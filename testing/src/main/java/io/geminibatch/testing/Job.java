package io.geminibatch.testing;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/** A batch job and its lifecycle state. Mutable fields are guarded by the job itself. */
final class Job {
  enum Kind {
    GENERATE("GenerateContentBatch", "batchGenerateContent"),
    EMBED("EmbedContentBatch", "asyncBatchEmbedContent");

    final String resourceType;
    final String method;

    Kind(String resourceType, String method) {
      this.resourceType = resourceType;
      this.method = method;
    }
  }

  enum State {
    PENDING,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED,
    EXPIRED;

    String wire() {
      return "BATCH_STATE_" + name();
    }

    boolean terminal() {
      return this != PENDING && this != RUNNING;
    }
  }

  /** One inline request: its JSON and its metadata's JSON (or null). */
  static final class InlineRequest {
    final byte[] request;
    final String metadataJson;

    InlineRequest(byte[] request, String metadataJson) {
      this.request = request;
      this.metadataJson = metadataJson;
    }
  }

  final String id;
  final long seq;
  /** SHA-256 of the API key that created it (the key itself is never kept). */
  final String owner;
  final Kind kind;
  final String model;
  final String displayName;
  final long priority;
  /** "files/..." for file input, null for inline input. */
  final String inputFileName;
  /** A hard link (or copy) of the input file, so that deleting the file does not break the job. */
  final Path inputPath;
  final List<InlineRequest> inline;
  final long requestCount;
  final Instant createTime;
  /** The faults decided for this job when it was created. */
  final Plan plan;
  /** Its {@code webhookConfig.uris} (empty without one). */
  List<String> webhookUris = List.of();
  /** Its {@code webhookConfig.user_metadata} as a JSON object, or null. */
  String webhookUserMetadataJson;

  State state = State.PENDING;
  Instant updateTime;
  Instant endTime;
  int errorCode;
  String errorMessage;
  long succeeded;
  long failed;
  /** The JSON array of inline responses once SUCCEEDED. */
  String inlineResponsesJson;
  /** "files/batch-<id>" once SUCCEEDED with file input. */
  String responsesFile;
  boolean deleted;
  ScheduledFuture<?> expiry;
  /** Prompt tokens this job holds of its key's enqueued-token quota while active (see {@link Quota}). */
  long enqueuedTokens;

  Job(
      String id,
      long seq,
      String owner,
      Kind kind,
      String model,
      String displayName,
      long priority,
      String inputFileName,
      Path inputPath,
      List<InlineRequest> inline,
      long requestCount,
      Instant createTime,
      Plan plan) {
    this.id = id;
    this.seq = seq;
    this.owner = owner;
    this.kind = kind;
    this.model = model;
    this.displayName = displayName;
    this.priority = priority;
    this.inputFileName = inputFileName;
    this.inputPath = inputPath;
    this.inline = inline;
    this.requestCount = requestCount;
    this.createTime = createTime;
    this.updateTime = createTime;
    this.plan = plan;
  }

  String name() {
    return "batches/" + id;
  }

  /** True while processing should go on: the job is RUNNING and neither cancelled nor deleted. */
  synchronized boolean running() {
    return state == State.RUNNING && !deleted;
  }

  synchronized void countProcessed(boolean ok) {
    if (ok) {
      succeeded++;
    } else {
      failed++;
    }
  }

  /** What was decided for the job when it was created. */
  static final class Plan {
    final long pendingNanos;
    final long runningNanos;
    final boolean stuck;
    final boolean fail;
    final boolean expire;
    final double requestErrorRate;
    final long requestErrorSeed;
    final boolean reorderInline;
    final long reorderSeed;
    final boolean omitInlineMetadata;

    Plan(
        long pendingNanos,
        long runningNanos,
        boolean stuck,
        boolean fail,
        boolean expire,
        double requestErrorRate,
        long requestErrorSeed,
        boolean reorderInline,
        long reorderSeed,
        boolean omitInlineMetadata) {
      this.pendingNanos = pendingNanos;
      this.runningNanos = runningNanos;
      this.stuck = stuck;
      this.fail = fail;
      this.expire = expire;
      this.requestErrorRate = requestErrorRate;
      this.requestErrorSeed = requestErrorSeed;
      this.reorderInline = reorderInline;
      this.reorderSeed = reorderSeed;
      this.omitInlineMetadata = omitInlineMetadata;
    }
  }
}
