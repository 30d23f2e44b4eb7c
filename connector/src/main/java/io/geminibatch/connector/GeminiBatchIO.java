package io.geminibatch.connector;

import com.google.auto.value.AutoValue;
import io.geminibatch.connector.client.BatchKind;
import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.connector.client.GeminiClientConfig;
import java.util.List;
import io.geminibatch.connector.client.VertexTarget;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PInput;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * Transforms for the Gemini API's <a href="https://ai.google.dev/gemini-api/docs/batch-api">Batch
 * API</a>: half the price of online calls, for work that can wait for its answers.
 *
 * <p>{@link #generate()} turns prompts into model responses; {@link #embed()} turns texts into
 * vectors. Both shard their input into JSONL files in a staging location, upload them (or send
 * small shards inline), create one batch job per shard, wait for the jobs without holding a
 * worker, stream the results back and match each to its input by key. A request that cannot be
 * answered ends in the failures with its reason: every input becomes exactly one response or one
 * failure, and no job is created twice for the same shard, even when bundles are retried or the
 * pipeline is run again with the same staging location.
 *
 * <pre>{@code
 * Pipeline p = Pipeline.create(options);
 * PCollection<GenerateRequest> prompts =
 *     p.apply(TextIO.read().from("gs://my-bucket/prompts.txt"))
 *      .apply(MapElements.into(TypeDescriptor.of(GenerateRequest.class))
 *          .via(line -> GenerateRequest.ofPrompt(Integer.toHexString(line.hashCode()), line)));
 *
 * GeminiBatchIO.GenerateResult result = prompts.apply(
 *     GeminiBatchIO.generate()
 *         .withModel("gemini-2.5-flash")              // API key: GEMINI_API_KEY, or withApiKey
 *         .withStagingLocation("gs://my-bucket/gemini-staging")
 *         .withSystemInstruction("Answer in one sentence."));
 *
 * result.getResponses()    // GenerateResponse: getKey(), getText(), token counts, ...
 *     .apply(MapElements.into(TypeDescriptors.strings()).via(r -> r.getKey() + "\t" + r.getText()))
 *     .apply(TextIO.write().to("gs://my-bucket/answers"));
 * result.getFailures()     // GenerateFailure: getKey(), getStage(), getErrorCode(), getMessage()
 *     .apply(MapElements.into(TypeDescriptors.strings()).via(GenerateFailure::toString))
 *     .apply(TextIO.write().to("gs://my-bucket/failures"));
 * p.run();
 * }</pre>
 *
 * <p>Metrics, in the namespace {@code GeminiBatchIO}: requests, invalidRequests, shardsStaged,
 * bytesStaged, jobsSubmitted, jobsReattached, jobsSucceeded, jobsFailed, jobsExpired,
 * jobsCancelled, jobsResubmitted, requestsRetried, responses, failures, promptTokens,
 * candidatesTokens, polls, quotaRefusals (creates refused 429 for quota), shardsWaiting (shards
 * waiting now for quota or pacing), submitWaits (the submit step's resumes); and the time per stage in milliseconds, summed over workers, each
 * leaving out what its outputs cost downstream: stageMillis (writing shards to the staging
 * location), uploadMillis (uploading them, or building inline requests), serviceMillis (jobs'
 * create to end, by the service's clock), resultWaitMillis (finished jobs' results waiting to be
 * read), readMillis (downloading and parsing results).
 */
public final class GeminiBatchIO {
  private static final Pattern MODEL = Pattern.compile(
      "(models/|tunedModels/|" + "(projects/[a-z0-9.:-]+/locations/[a-z0-9-]+/)?publishers/[a-z0-9-]+/models/)?[a-z0-9][a-z0-9._@-]*");

  private GeminiBatchIO() {}

  /** Text generation ({@code batchGenerateContent}); default model {@code gemini-2.5-flash}. */
  public static Generate generate() {
    return new AutoValue_GeminiBatchIO_Generate.Builder()
        .setConfig(BatchConfig.defaults("models/gemini-2.5-flash"))
        .build();
  }

  /** Embeddings ({@code asyncBatchEmbedContent}); default model {@code gemini-embedding-001}. */
  public static Embed embed() {
    return new AutoValue_GeminiBatchIO_Embed.Builder()
        .setConfig(BatchConfig.defaults("models/gemini-embedding-001"))
        .build();
  }

  /**
   * The settings {@link Generate} and {@link Embed} share. Setters validate their argument and
   * may be called in any order; {@code expand()} checks how they combine.
   */
  public abstract static class BatchTransform<
          InT extends KeyedInput, ResultT extends POutput, SelfT extends BatchTransform<InT, ResultT, SelfT>>
      extends PTransform<PCollection<InT>, ResultT> {

    abstract BatchConfig config();

    abstract SelfT withConfig(BatchConfig config);

    /** {@code GENERATE} or {@code EMBED}: part of the staging directory's name. */
    abstract String kindName();

    /**
     * The directory under {@link #withStagingLocation the staging location} where this transform
     * keeps its staged shards and its job ledger ({@code STAGING/gemini-batch-SCOPE/}, SCOPE a hash
     * of the kind, the model and the staging location). A run that keeps its artifacts ({@link
     * #withKeepArtifacts}) and cleans up itself once its outputs are committed finds every job it
     * created there: each {@code jobs/*.job} file holds a job's name and, on its second line, its
     * uploaded input file's name, if any.
     *
     * @throws IllegalStateException when no staging location is set
     */
    public String stagingDirectory() {
      String staging = config().stagingLocation();
      if (staging == null || staging.isEmpty()) {
        throw new IllegalStateException("stagingDirectory: call withStagingLocation first");
      }
      return BatchSettings.stagingDir(kindName(), config().model(), staging);
    }

    private SelfT with(java.util.function.UnaryOperator<BatchConfig.Builder> change) {
      return withConfig(change.apply(config().toBuilder()).build());
    }

    /** The model, e.g. {@code gemini-2.5-flash} or {@code models/gemini-2.5-flash}. */
    public SelfT withModel(String model) {
      if (model == null || !MODEL.matcher(model).matches()) {
        throw new IllegalArgumentException(
            "withModel: model must look like 'gemini-2.5-flash' or 'models/gemini-2.5-flash' (on Vertex AI also"
                + " 'publishers/google/models/gemini-2.5-flash'), got '" + model + "'");
      }
      String name = model.contains("/") ? model : "models/" + model;
      return with(b -> b.setModel(name));
    }

    /**
     * A fixed API key. It is carried, serialized, with the pipeline; prefer the default (the
     * workers' {@code GEMINI_API_KEY}, then {@code GOOGLE_API_KEY}) or {@link
     * #withApiKeyProvider} on runners that stage the pipeline. Never shown in display data.
     */
    public SelfT withApiKey(String apiKey) {
      if (apiKey == null || apiKey.trim().isEmpty()) {
        throw new IllegalArgumentException("withApiKey: apiKey must be a non-empty string");
      }
      ApiKeyProvider provider = ApiKeyProvider.of(apiKey);
      return with(b -> b.setApiKey(provider));
    }

    /** Where the API key comes from on the workers, e.g. a secret manager. */
    public SelfT withApiKeyProvider(ApiKeyProvider provider) {
      if (provider == null) {
        throw new IllegalArgumentException("withApiKeyProvider: provider must not be null");
      }
      return with(b -> b.setApiKey(provider));
    }

    /**
     * Runs the jobs on Vertex AI batch prediction in this Google Cloud project and location (e.g.
     * {@code us-central1}) instead of the Gemini API: shards are staged as JSONL objects under the
     * staging location, which must then be a {@code gs://} path, and each becomes one {@code
     * batchPredictionJob}. Authenticated with Application Default Credentials unless {@link
     * #withGoogleCredentials} gives others; no API key is used. The model {@code gemini-2.5-flash}
     * stands for {@code publishers/google/models/gemini-2.5-flash}. {@code generate()} only:
     * {@code embed()} refuses it.
     */
    public SelfT withVertexAi(String project, String location) {
      if (this instanceof Embed) {
        throw new UnsupportedOperationException(
            "withVertexAi: embed() does not run on Vertex AI batch prediction (the Google SDKs refuse batch"
                + " embeddings there too); use generate() on Vertex AI, or embed() on the Gemini API");
      }
      VertexTarget target;
      try {
        target = VertexTarget.of(project, location);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("withVertexAi: " + e.getMessage(), e);
      }
      return with(b -> b.setVertex(target));
    }

    /**
     * The Google credentials of the Vertex AI backend (default: Application Default Credentials,
     * looked up on the workers). They are serialized with the pipeline.
     */
    public SelfT withGoogleCredentials(com.google.auth.oauth2.GoogleCredentials credentials) {
      if (credentials == null) {
        throw new IllegalArgumentException("withGoogleCredentials: credentials must not be null");
      }
      return with(b -> b.setGoogleCredentials(credentials));
    }

    /** The service's base URL; default {@code https://generativelanguage.googleapis.com}. */
    public SelfT withBaseUrl(String baseUrl) {
      String normalized = GeminiClientConfig.builder().baseUrl(baseUrl).build().getBaseUrl();
      return with(b -> b.setBaseUrl(normalized));
    }

    /** The REST version; default {@code v1beta}, where the Batch API lives. */
    public SelfT withApiVersion(String apiVersion) {
      String checked = GeminiClientConfig.builder().apiVersion(apiVersion).build().getApiVersion();
      return with(b -> b.setApiVersion(checked));
    }

    /**
     * A directory on any Beam file system (local, {@code gs://}, ...) for staged shards and the
     * job ledger. Default: the pipeline's {@code tempLocation}. Re-running with the same staging
     * location reattaches to the jobs of an earlier run instead of paying for them again.
     */
    public SelfT withStagingLocation(String stagingLocation) {
      if (stagingLocation == null || stagingLocation.trim().isEmpty()) {
        throw new IllegalArgumentException("withStagingLocation: stagingLocation must be a non-empty path");
      }
      return with(b -> b.setStagingLocation(stagingLocation));
    }

    /** Requests per job, at most; default 10,000. */
    public SelfT withMaxRequestsPerJob(long maxRequestsPerJob) {
      checkRange("withMaxRequestsPerJob", "maxRequestsPerJob", maxRequestsPerJob, 1, 10_000_000);
      return with(b -> b.setMaxRequestsPerJob(maxRequestsPerJob));
    }

    /** Bytes of JSONL per job, at most; default 1 GB, never above the API's 2 GB. */
    public SelfT withMaxBytesPerJob(long maxBytesPerJob) {
      checkRange("withMaxBytesPerJob", "maxBytesPerJob", maxBytesPerJob, 1024, BatchConfig.MAX_FILE_BYTES);
      return with(b -> b.setMaxBytesPerJob(maxBytesPerJob));
    }

    /**
     * Shards of at most this many bytes are sent inline in the create call instead of as an
     * uploaded file; default 1 MB, 0 to always upload, at most the API's 20 MB.
     */
    public SelfT withInlineThresholdBytes(long inlineThresholdBytes) {
      checkRange("withInlineThresholdBytes", "inlineThresholdBytes", inlineThresholdBytes, 0, BatchConfig.MAX_INLINE_BYTES);
      return with(b -> b.setInlineThresholdBytes(inlineThresholdBytes));
    }

    /** A larger request goes to the failures instead; default 10 MB. */
    public SelfT withMaxRequestBytes(long maxRequestBytes) {
      checkRange("withMaxRequestBytes", "maxRequestBytes", maxRequestBytes, 64, BatchConfig.MAX_INLINE_BYTES);
      return with(b -> b.setMaxRequestBytes(maxRequestBytes));
    }

    /**
     * The first wait between polls of a running job; later waits grow with the job's age (a
     * tenth of it), up to ten times this. Default 30 s.
     */
    public SelfT withPollInterval(Duration pollInterval) {
      checkDuration("withPollInterval", "pollInterval", pollInterval, Duration.millis(10), Duration.standardHours(1));
      return with(b -> b.setPollInterval(pollInterval));
    }

    /**
     * Jobs still pending or running after this long are cancelled and handled as expired
     * (resubmitted while attempts remain). Default: no limit (the service expires jobs at 48 h).
     */
    public SelfT withMaxJobWait(Duration maxJobWait) {
      checkDuration("withMaxJobWait", "maxJobWait", maxJobWait, Duration.millis(1), Duration.standardDays(7));
      return with(b -> b.setMaxJobWait(maxJobWait));
    }

    /**
     * How long a shard may wait for the service's quota. A create the service refuses for quota
     * (429 RESOURCE_EXHAUSTED: too many active jobs or enqueued tokens for the project and model)
     * creates nothing; the shard tries again later, after a delay that doubles from the retry
     * backoff's first value up to its maximum (1 s to 60 s, see {@link #withRetryBackoff}; the poll
     * interval if that is longer), through the runner (no worker waits). After
     * this long its requests become failures with the service's message. Default 48 hours (as
     * long as a job may live); at most 30 days.
     */
    public SelfT withMaxQueueWait(Duration maxQueueWait) {
      checkDuration("withMaxQueueWait", "maxQueueWait", maxQueueWait, Duration.ZERO, Duration.standardDays(30));
      return with(b -> b.setMaxQueueWait(maxQueueWait));
    }

    /**
     * Paces submission: at most this many of this transform's jobs active (created, not yet seen
     * finished) at once, so that the service is not asked for more than its concurrent-jobs quota.
     * Counted per transform in each worker JVM. Default 0: no pacing (the service's refusals are
     * waited out, see {@link #withMaxQueueWait}).
     */
    public SelfT withMaxConcurrentJobs(int maxConcurrentJobs) {
      checkRange("withMaxConcurrentJobs", "maxConcurrentJobs", maxConcurrentJobs, 0, 1_000_000);
      return with(b -> b.setMaxConcurrentJobs(maxConcurrentJobs));
    }

    /**
     * Paces submission: at most about this many prompt tokens in this transform's active jobs, a
     * shard's tokens estimated as a quarter of its JSONL bytes (an overestimate: JSON syntax counts
     * too). Set it to the model's enqueued-tokens quota for your tier. A shard larger than this
     * goes alone. Counted per transform in each worker JVM. Default 0: no pacing.
     */
    public SelfT withMaxEnqueuedTokens(long maxEnqueuedTokens) {
      checkRange("withMaxEnqueuedTokens", "maxEnqueuedTokens", maxEnqueuedTokens, 0, Long.MAX_VALUE / 4);
      return with(b -> b.setMaxEnqueuedTokens(maxEnqueuedTokens));
    }

    /** For unbounded input: how long a partial shard may wait for more requests; default 10 min. */
    public SelfT withMaxBufferingDuration(Duration maxBufferingDuration) {
      checkDuration("withMaxBufferingDuration", "maxBufferingDuration", maxBufferingDuration, Duration.millis(1), Duration.standardDays(1));
      return with(b -> b.setMaxBufferingDuration(maxBufferingDuration));
    }

    /**
     * How many jobs a request may be sent in: a failed or expired job's shard, and requests whose
     * results are retryable errors, are sent again until then. Default 3. The step that awaits a
     * job submits and awaits its retries itself (one follow-up job per job and attempt), so the
     * pipeline's graph does not grow with this setting.
     */
    public SelfT withMaxAttempts(int maxAttempts) {
      checkRange("withMaxAttempts", "maxAttempts", maxAttempts, 1, 10);
      return with(b -> b.setMaxAttempts(maxAttempts));
    }

    /**
     * Bytes of a result file claimed and emitted at once; default 32 MB. A runner that keeps a
     * bundle's outputs in memory (the Direct runner) holds about this much per job being read.
     * Package-private: tests make it small to read a job in many bundles.
     */
    SelfT withResultBlockBytes(long resultBlockBytes) {
      checkRange("withResultBlockBytes", "resultBlockBytes", resultBlockBytes, 1, 1L << 40);
      return with(b -> b.setResultBlockBytes(resultBlockBytes));
    }

    /**
     * Writes the responses to files instead of emitting them: the step that reads a job's results
     * writes each block of them (see {@link #withResultBlockBytes}) to {@code
     * PREFIX-JOBID-NNNNN.jsonl} on any Beam file system, one {@code {"key": ..., "response": ...}}
     * line per response ({@code "embedding"} for {@code embed()}), the response as the service sent
     * it. No response then crosses the runner's exchanges, and {@code getResponses()} is empty;
     * failures are emitted as always. Exactly once: a block goes to a hidden temporary file beside
     * its final name and is renamed onto it once claimed, and a retried bundle writes the same
     * block, with the same lines, under the same name.
     */
    public SelfT withResultFiles(String prefix) {
      if (prefix == null || prefix.trim().isEmpty() || prefix.endsWith("/")) {
        throw new IllegalArgumentException("withResultFiles: prefix must be a non-empty path not ending in '/', got '" + prefix + "'");
      }
      return with(b -> b.setResultFiles(prefix));
    }

    /** Keeps jobs, uploaded files, result files, staged shards and the ledger; default false. */
    public SelfT withKeepArtifacts(boolean keepArtifacts) {
      return with(b -> b.setKeepArtifacts(keepArtifacts));
    }

    /**
     * Retries of an idempotent API call (poll, list, upload chunk, download, delete) on 408, 429,
     * 5xx and dropped connections; default 8. A create is never blindly retried.
     */
    public SelfT withMaxRetries(int maxRetries) {
      checkRange("withMaxRetries", "maxRetries", maxRetries, 0, 100);
      return with(b -> b.setMaxRetries(maxRetries));
    }

    /** The jittered exponential backoff of those retries; default 1 s growing to 60 s. */
    public SelfT withRetryBackoff(java.time.Duration initial, java.time.Duration max) {
      if (initial == null || max == null || initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "withRetryBackoff: need 0 < initial <= max, got initial=" + initial + ", max=" + max);
      }
      return with(b -> b.setInitialBackoff(initial).setMaxBackoff(max));
    }

    /**
     * Detached: the run stages, uploads and creates every job, records each in the staging
     * location's job ledger, and finishes without waiting for them (a day, sometimes). The
     * results then hold only what failed before a job was created (invalid requests, refused
     * creates). A later run of the same pipeline with the same staging location and without
     * detach creates no job the ledger holds: it waits for those jobs and reads their results.
     * Pair it with {@link #withWebhookConfig} to be told when the jobs end. Default false.
     */
    public SelfT withDetach(boolean detach) {
      return with(b -> b.setDetached(detach));
    }

    /**
     * Sends a {@code webhookConfig} with every job this transform creates: when a job ends, the
     * service POSTs a signed event ({@code batch.succeeded}, {@code batch.failed}, {@code
     * batch.cancelled}, {@code batch.expired}) to each URI, instead of to the project's registered
     * webhooks, with {@code userMetadata} echoed in it (e.g. a run id, to route the event).
     * Receivers verify deliveries with {@link WebhookVerifier}.
     */
    public SelfT withWebhookConfig(List<String> uris, Map<String, String> userMetadata) {
      if (uris == null || uris.isEmpty()) {
        throw new IllegalArgumentException("withWebhookConfig: at least one webhook URI is required");
      }
      GeminiClientConfig checked;
      try {
        checked = GeminiClientConfig.builder().webhookConfig(uris, userMetadata).build();
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("withWebhookConfig: " + e.getMessage(), e);
      }
      return with(
          b ->
              b.setWebhookUris(checked.getWebhookUris())
                  .setWebhookUserMetadata(checked.getWebhookUserMetadata()));
    }

    /**
     * Also sends every failure, as a {@link BadRecord}, to this handler (as Beam's own IOs do);
     * {@code getFailures()} still holds them all.
     */
    public SelfT withBadRecordErrorHandler(ErrorHandler<BadRecord, ?> errorHandler) {
      if (errorHandler == null) {
        throw new IllegalArgumentException("withBadRecordErrorHandler: errorHandler must not be null");
      }
      return with(b -> b.setBadRecordErrorHandler(errorHandler));
    }

    private static void checkRange(String method, String name, long value, long min, long max) {
      if (value < min || value > max) {
        throw new IllegalArgumentException(
            method + ": " + name + " must be in [" + min + ", " + max + "], got " + value);
      }
    }

    private static void checkDuration(String method, String name, Duration value, Duration min, Duration max) {
      if (value == null || value.isShorterThan(min) || value.isLongerThan(max)) {
        throw new IllegalArgumentException(
            method + ": " + name + " must be between " + min + " and " + max + ", got " + value);
      }
    }

    /** Checks how the settings combine, and fixes what depends on the pipeline. */
    BatchSettings settings(Pipeline pipeline, String kindName) {
      BatchConfig c = config();
      String staging = c.stagingLocation();
      if (staging == null) {
        staging = pipeline.getOptions().getTempLocation();
      }
      if (staging == null || staging.isEmpty()) {
        throw new IllegalArgumentException(
            getClass().getSimpleName()
                + ": no staging location: call withStagingLocation(...) or set the pipeline's --tempLocation");
      }
      if (c.inlineThresholdBytes() > c.maxBytesPerJob()) {
        throw new IllegalArgumentException(
            "inlineThresholdBytes (" + c.inlineThresholdBytes() + ") must not exceed maxBytesPerJob ("
                + c.maxBytesPerJob() + ")");
      }
      if (c.maxRequestBytes() > c.maxBytesPerJob()) {
        throw new IllegalArgumentException(
            "maxRequestBytes (" + c.maxRequestBytes() + ") must not exceed maxBytesPerJob (" + c.maxBytesPerJob() + ")");
      }
      boolean vertex = c.vertex() != null;
      if (vertex && !staging.startsWith("gs://")) {
        throw new IllegalArgumentException(
            getClass().getSimpleName() + " on Vertex AI: the staging location must be a gs:// path (Vertex AI reads"
                + " its input from and writes its predictions to Cloud Storage), got '" + staging + "'");
      }
      if (!vertex && c.googleCredentials() != null) {
        throw new IllegalArgumentException("withGoogleCredentials applies to Vertex AI only: call withVertexAi(project, location) too");
      }
      if (!vertex && (c.model().startsWith("publishers/") || c.model().startsWith("projects/"))) {
        throw new IllegalArgumentException(
            "model '" + c.model() + "' is a Vertex AI name: call withVertexAi(project, location), or name the model as 'gemini-2.5-flash'");
      }
      if (!vertex && !c.apiKey().readWhereUsed() && c.apiKey().get() == null) {
        throw new IllegalArgumentException(
            "No Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), or call withApiKey(...) or withApiKeyProvider(...)");
      }
      BatchSettings settings = new BatchSettings(
          c.clientConfig(),
          kindName,
          c.model(),
          staging,
          c.maxRequestsPerJob(),
          c.maxBytesPerJob(),
          vertex ? 0 : c.inlineThresholdBytes(), // Vertex AI has no inline jobs
          c.maxRequestBytes(),
          c.pollInterval(),
          c.maxJobWait(),
          c.maxAttempts(),
          c.keepArtifacts(),
          c.resultBlockBytes(),
          c.resultFiles());
      settings.queue = new QueueSettings(c.maxQueueWait(), c.maxConcurrentJobs(), c.maxEnqueuedTokens());
      return settings;
    }

    /**
     * Validate (and, for a bounded input, pack), shard, then the shared stages; failures of every
     * stage are flattened into one.
     */
    <OutT> PCollectionTuple expandBatch(
        PCollection<InT> input, KindSupport<OutT> kind, TupleTag<OutT> responses) {
      BatchSettings settings = settings(input.getPipeline(), kindName());
      TupleTag<GenerateFailure> failuresTag = BatchCore.FAILURES;
      ValidateFn<InT> validate = new ValidateFn<>(kind, settings.maxRequestBytes, failuresTag);
      boolean bounded = input.isBounded() == PCollection.IsBounded.BOUNDED;
      PCollectionList<GenerateFailure> failureLists = PCollectionList.empty(input.getPipeline());
      PCollection<KV<Integer, Iterable<Pack>>> groups;
      if (bounded) {
        // Invalid requests ride with the packs to the stage step's failures.
        groups = BatchCore.packAndShard(input, validate, "ValidateAndPack", settings);
      } else {
        FlinkStableInput.warnIfRestartsUnbounded(input.getPipeline().getOptions());
        PCollectionTuple validated =
            input.apply("Validate", ParDo.of(validate).withOutputTags(ValidateFn.VALID, TupleTagList.of(failuresTag)));
        failureLists = failureLists.and(validated.get(failuresTag).setCoder(GenerateFailure.FailureCoder.of()));
        groups =
            validated
                .get(ValidateFn.VALID)
                .setCoder(KeyedRequest.KeyedRequestCoder.INSTANCE)
                .apply("Shard", new ShardRequests(settings, config().maxBufferingDuration()));
      }
      PCollectionTuple batched =
          groups.apply(
              "Batch",
              new BatchCore<>(settings, kind, responses, bounded, config().detached()));
      PCollection<GenerateFailure> failures =
          failureLists
              .and(batched.get(failuresTag))
              .apply("Failures", Flatten.pCollections())
              .setCoder(GenerateFailure.FailureCoder.of());
      ErrorHandler<BadRecord, ?> handler = config().badRecordErrorHandler();
      if (handler != null) {
        handler.addErrorCollection(
            failures
                .apply("ToBadRecords", ParDo.of(new ToBadRecordFn()))
                .setCoder(BadRecord.getCoder(input.getPipeline())));
      }
      return PCollectionTuple.of(responses, batched.get(responses)).and(failuresTag, failures);
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      BatchConfig c = config();
      builder
          .add(DisplayData.item("model", c.model()).withLabel("Model"))
          .add(DisplayData.item("backend", c.vertex() == null ? "Gemini API" : c.vertex().toString()).withLabel("Backend"))
          .add(DisplayData.item("baseUrl", c.baseUrl()).withLabel("Service base URL"))
          .add(DisplayData.item("apiVersion", c.apiVersion()).withLabel("API version"))
          .add(DisplayData.item("apiKeySource", c.apiKey().toString()).withLabel("API key from"))
          .addIfNotNull(DisplayData.item("stagingLocation", c.stagingLocation()).withLabel("Staging location"))
          .add(DisplayData.item("maxRequestsPerJob", c.maxRequestsPerJob()).withLabel("Requests per job, max"))
          .add(DisplayData.item("maxBytesPerJob", c.maxBytesPerJob()).withLabel("Bytes per job, max"))
          .add(DisplayData.item("inlineThresholdBytes", c.inlineThresholdBytes()).withLabel("Inline up to (bytes)"))
          .add(DisplayData.item("pollInterval", c.pollInterval()).withLabel("Poll interval"))
          .addIfNotNull(DisplayData.item("maxJobWait", c.maxJobWait()).withLabel("Longest wait for a job"))
          .add(DisplayData.item("maxAttempts", c.maxAttempts()).withLabel("Attempts per request, max"))
          .add(DisplayData.item("maxQueueWait", c.maxQueueWait()).withLabel("Longest wait for quota"))
          .add(DisplayData.item("maxConcurrentJobs", c.maxConcurrentJobs()).withLabel("Active jobs, max (0: no pacing)"))
          .add(DisplayData.item("maxEnqueuedTokens", c.maxEnqueuedTokens()).withLabel("Enqueued tokens, max (0: no pacing)"))
          .add(DisplayData.item("keepArtifacts", c.keepArtifacts()).withLabel("Keep jobs and files"))
          .add(DisplayData.item("detached", c.detached()).withLabel("Submit only, do not wait for the jobs"))
          .addIfNotNull(DisplayData.item("resultFiles", c.resultFiles()).withLabel("Responses written to"));
      if (!c.webhookUris().isEmpty()) {
        builder.add(
            DisplayData.item("webhookUris", String.join(", ", c.webhookUris()))
                .withLabel("Webhook URIs of every job"));
      }
    }
  }

  /** Turns a failure into Beam's {@link BadRecord} for an error handler. */
  static final class ToBadRecordFn extends DoFn<GenerateFailure, BadRecord> {
    @ProcessElement
    public void process(@Element GenerateFailure f, OutputReceiver<BadRecord> out) throws Exception {
      out.output(
          BadRecord.fromExceptionInformation(
              f, GenerateFailure.FailureCoder.of(), null, f.getStage() + ": " + f.getMessage()));
    }
  }

  /** {@link #generate()}: {@code PCollection<GenerateRequest>} to a {@link GenerateResult}. */
  @AutoValue
  public abstract static class Generate
      extends BatchTransform<GenerateRequest, GenerateResult, Generate> {

    abstract @Nullable String systemInstruction();

    abstract @Nullable String generationConfigJson();

    abstract Builder toBuilder();

    @Override
    Generate withConfig(BatchConfig config) {
      return toBuilder().setConfig(config).build();
    }

    @Override
    String kindName() {
      return BatchKind.GENERATE.name();
    }

    /** A system instruction for requests built from a prompt ({@link GenerateRequest#ofPrompt}). */
    public Generate withSystemInstruction(String systemInstruction) {
      if (systemInstruction == null || systemInstruction.isEmpty()) {
        throw new IllegalArgumentException("withSystemInstruction: systemInstruction must be non-empty");
      }
      return toBuilder().setSystemInstruction(systemInstruction).build();
    }

    /**
     * A {@code GenerationConfig} as JSON, e.g. {@code {"temperature":0.2}}, for requests built
     * from a prompt.
     */
    public Generate withGenerationConfig(String generationConfigJson) {
      String json = generationConfigJson == null ? "" : generationConfigJson.trim();
      if (!json.startsWith("{") || !isJsonObject(json)) {
        throw new IllegalArgumentException(
            "withGenerationConfig: generationConfig must be a JSON object, got '" + generationConfigJson + "'");
      }
      return toBuilder().setGenerationConfigJson(json).build();
    }

    @Override
    public GenerateResult expand(PCollection<GenerateRequest> input) {
      PCollectionTuple out =
          expandBatch(input, new GenerateKind(systemInstruction(), generationConfigJson()), GenerateResult.RESPONSES);
      return new GenerateResult(input.getPipeline(), out.get(GenerateResult.RESPONSES), out.get(BatchCore.FAILURES));
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .addIfNotNull(DisplayData.item("systemInstruction", systemInstruction()).withLabel("System instruction"))
          .addIfNotNull(DisplayData.item("generationConfig", generationConfigJson()).withLabel("Generation config"));
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setConfig(BatchConfig config);

      abstract Builder setSystemInstruction(String v);

      abstract Builder setGenerationConfigJson(String v);

      abstract Generate build();
    }
  }

  /** {@link #embed()}: {@code PCollection<EmbedRequest>} to an {@link EmbedResult}. */
  @AutoValue
  public abstract static class Embed extends BatchTransform<EmbedRequest, EmbedResult, Embed> {

    abstract @Nullable String taskType();

    abstract @Nullable Integer outputDimensionality();

    abstract Builder toBuilder();

    @Override
    Embed withConfig(BatchConfig config) {
      return toBuilder().setConfig(config).build();
    }

    @Override
    String kindName() {
      return BatchKind.EMBED.name();
    }

    /**
     * The vectors' size, for requests that do not set their own; default: the model's own (768
     * for the emulator, 3072 for {@code gemini-embedding-001}).
     */
    public Embed withOutputDimensionality(int outputDimensionality) {
      if (outputDimensionality < 1 || outputDimensionality > EmbedKind.MAX_DIMENSIONALITY) {
        throw new IllegalArgumentException(
            "withOutputDimensionality: outputDimensionality must be in [1, "
                + EmbedKind.MAX_DIMENSIONALITY + "], got " + outputDimensionality);
      }
      return toBuilder().setOutputDimensionality(outputDimensionality).build();
    }

    /** The task type (e.g. {@code RETRIEVAL_DOCUMENT}) of requests built from a text. */
    public Embed withTaskType(String taskType) {
      if (taskType == null || !taskType.matches("[A-Z][A-Z_]*")) {
        throw new IllegalArgumentException(
            "withTaskType: taskType must be an upper-case TaskType name such as RETRIEVAL_DOCUMENT, got '" + taskType + "'");
      }
      return toBuilder().setTaskType(taskType).build();
    }

    @Override
    public EmbedResult expand(PCollection<EmbedRequest> input) {
      PCollectionTuple out =
          expandBatch(input, new EmbedKind(taskType(), outputDimensionality()), EmbedResult.EMBEDDINGS);
      return new EmbedResult(input.getPipeline(), out.get(EmbedResult.EMBEDDINGS), out.get(BatchCore.FAILURES));
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .addIfNotNull(DisplayData.item("taskType", taskType()).withLabel("Task type"))
          .addIfNotNull(DisplayData.item("outputDimensionality", outputDimensionality()).withLabel("Dimensions"));
    }

    @AutoValue.Builder
    abstract static class Builder {
      abstract Builder setConfig(BatchConfig config);

      abstract Builder setTaskType(String v);

      abstract Builder setOutputDimensionality(Integer v);

      abstract Embed build();
    }
  }

  private static boolean isJsonObject(String json) {
    try (com.fasterxml.jackson.core.JsonParser p = Json.FACTORY.createParser(json)) {
      if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
        return false;
      }
      p.skipChildren();
      return p.nextToken() == null;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** What a batch transform produces: its outputs and the failures, each with its coder set. */
  abstract static class BatchResult<OutT> implements POutput {
    private final Pipeline pipeline;
    private final TupleTag<OutT> outputTag;
    private final PCollection<OutT> outputs;
    private final PCollection<GenerateFailure> failures;

    BatchResult(Pipeline pipeline, TupleTag<OutT> outputTag, PCollection<OutT> outputs, PCollection<GenerateFailure> failures) {
      this.pipeline = pipeline;
      this.outputTag = outputTag;
      this.outputs = outputs;
      this.failures = failures;
    }

    PCollection<OutT> outputs() {
      return outputs;
    }

    /** Every request that did not produce a result, with the reason. */
    public PCollection<GenerateFailure> getFailures() {
      return failures;
    }

    @Override
    public Pipeline getPipeline() {
      return pipeline;
    }

    @Override
    public Map<TupleTag<?>, PValue> expand() {
      return Map.of(outputTag, outputs, BatchCore.FAILURES, failures);
    }

    @Override
    public void finishSpecifyingOutput(String transformName, PInput input, PTransform<?, ?> transform) {}
  }

  /** The outputs of {@link #generate()}. */
  public static final class GenerateResult extends BatchResult<GenerateResponse> {
    static final TupleTag<GenerateResponse> RESPONSES = new TupleTag<GenerateResponse>() {};

    GenerateResult(Pipeline p, PCollection<GenerateResponse> responses, PCollection<GenerateFailure> failures) {
      super(p, RESPONSES, responses, failures);
    }

    /** One response per request that succeeded, matched to it by key. */
    public PCollection<GenerateResponse> getResponses() {
      return outputs();
    }
  }

  /** The outputs of {@link #embed()}. */
  public static final class EmbedResult extends BatchResult<EmbedResponse> {
    static final TupleTag<EmbedResponse> EMBEDDINGS = new TupleTag<EmbedResponse>() {};

    EmbedResult(Pipeline p, PCollection<EmbedResponse> embeddings, PCollection<GenerateFailure> failures) {
      super(p, EMBEDDINGS, embeddings, failures);
    }

    /** One embedding per request that succeeded, matched to it by key. */
    public PCollection<EmbedResponse> getEmbeddings() {
      return outputs();
    }
  }
}
