package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Batch jobs: creation, the lifecycle on a scheduler (PENDING → RUNNING → terminal), streaming
 * processing through {@link EmulatorResponder}, and the Operation JSON the API returns.
 */
final class JobStore {
  static final String TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1main.";
  static final String RESULT_MIME_TYPE = "application/jsonl";

  private final FileStore files;
  private final StatsRecorder stats;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService workers;
  private final Path jobsDir;
  private final ConcurrentHashMap<String, Job> jobs = new ConcurrentHashMap<>();
  private final AtomicLong seq = new AtomicLong();
  /** Active jobs per owner, and their enqueued tokens per owner and model: guarded by itself. */
  private final QuotaUse quotaUse = new QuotaUse();
  private volatile Duration expiry;
  /** While true, new jobs stay PENDING until {@link #release()}. */
  private boolean holding;
  private final List<Job> held = new ArrayList<>();
  /** Told once when a job reaches a terminal state (not when it is deleted). */
  private volatile java.util.function.Consumer<Job> onEnd = j -> {};

  JobStore(
      Path dataDir,
      FileStore files,
      StatsRecorder stats,
      ScheduledExecutorService scheduler,
      ExecutorService workers,
      Duration expiry)
      throws IOException {
    this.jobsDir = Files.createDirectories(dataDir.resolve("jobs"));
    this.files = files;
    this.stats = stats;
    this.scheduler = scheduler;
    this.workers = workers;
    this.expiry = expiry;
  }

  // --- creation and the lifecycle --------------------------------------------------------------

  /** Creates a job from a validated request; file input is linked so the file may be deleted. */
  Job create(
      String owner,
      Job.Kind kind,
      String model,
      String displayName,
      long priority,
      StoredFile input,
      List<Job.InlineRequest> inline,
      Job.Plan plan,
      Quota quota,
      long tokens,
      List<String> webhookUris,
      String webhookUserMetadataJson)
      throws IOException {
    // Checked and taken at once, so that concurrent creates never overshoot a limit together.
    quotaUse.take(owner, model, tokens, quota, stats);
    try {
      return create(
          owner, kind, model, displayName, priority, input, inline, plan, tokens, webhookUris,
          webhookUserMetadataJson);
    } catch (IOException | RuntimeException e) {
      quotaUse.give(owner, model, tokens, stats);
      throw e;
    }
  }

  private Job create(
      String owner,
      Job.Kind kind,
      String model,
      String displayName,
      long priority,
      StoredFile input,
      List<Job.InlineRequest> inline,
      Job.Plan plan,
      long tokens,
      List<String> webhookUris,
      String webhookUserMetadataJson)
      throws IOException {
    String id;
    do {
      id = FileStore.randomId(36);
    } while (jobs.containsKey(id));
    Path inputPath = null;
    if (input != null) {
      inputPath = jobsDir.resolve(id + ".input");
      try {
        Files.createLink(inputPath, input.path);
      } catch (IOException | UnsupportedOperationException e) {
        Files.copy(input.path, inputPath);
      }
    }
    Job job =
        new Job(
            id,
            seq.incrementAndGet(),
            owner,
            kind,
            model,
            displayName,
            priority,
            input == null ? null : input.name(),
            inputPath,
            inline,
            input == null ? inline.size() : input.lines,
            Instant.now(),
            plan);
    job.enqueuedTokens = tokens;
    job.webhookUris = webhookUris;
    job.webhookUserMetadataJson = webhookUserMetadataJson;
    jobs.put(id, job);
    stats.created(displayName);
    stats.jobActivated();
    Duration exp = expiry;
    synchronized (job) {
      job.expiry =
          scheduler.schedule(
              () -> terminate(job, Job.State.EXPIRED, 4, expiredMessage(exp)),
              exp.toNanos(),
              TimeUnit.NANOSECONDS);
    }
    if (!plan.stuck) {
      synchronized (held) {
        if (holding) {
          held.add(job);
          return job;
        }
      }
      scheduler.schedule(() -> start(job), plan.pendingNanos, TimeUnit.NANOSECONDS);
    }
    return job;
  }

  /** New jobs stay PENDING until {@link #release()} (cancel, delete and expiry still apply). */
  void hold() {
    synchronized (held) {
      holding = true;
    }
  }

  /** Lets the held jobs, and new ones, go on as planned. */
  void release() {
    List<Job> go;
    synchronized (held) {
      holding = false;
      go = new ArrayList<>(held);
      held.clear();
    }
    for (Job job : go) {
      scheduler.schedule(() -> start(job), job.plan.pendingNanos, TimeUnit.NANOSECONDS);
    }
  }

  void onEnd(java.util.function.Consumer<Job> listener) {
    this.onEnd = listener;
  }

  void setExpiry(Duration expiry) {
    this.expiry = expiry;
  }

  private static String expiredMessage(Duration d) {
    return "The batch job expired: it was pending or running for more than "
        + d.toString().substring(2).toLowerCase(java.util.Locale.ROOT)
        + ".";
  }

  private void start(Job job) {
    synchronized (job) {
      if (job.state != Job.State.PENDING || job.deleted) {
        return;
      }
      job.state = Job.State.RUNNING;
      job.updateTime = Instant.now();
    }
    Job.Plan plan = job.plan;
    if (plan.fail || plan.expire) {
      scheduler.schedule(
          () -> {
            if (plan.fail) {
              terminate(
                  job,
                  Job.State.FAILED,
                  13,
                  "The batch job failed because of an internal error. Please retry.");
            } else {
              terminate(job, Job.State.EXPIRED, 4, expiredMessage(Duration.ofHours(48)));
            }
          },
          plan.runningNanos,
          TimeUnit.NANOSECONDS);
      return;
    }
    long startedAt = System.nanoTime();
    workers.execute(() -> run(job, startedAt));
  }

  private void run(Job job, long startedAt) {
    Output out;
    try {
      out = job.inputPath != null ? processFile(job) : processInline(job);
    } catch (Stopped s) {
      return;
    } catch (IOException | RuntimeException e) {
      terminate(job, Job.State.FAILED, 13, "An internal error has occurred: " + e);
      return;
    }
    if (out == null) {
      return;
    }
    long wait = job.plan.runningNanos - (System.nanoTime() - startedAt);
    if (wait <= 0) {
      succeed(job, out);
    } else {
      scheduler.schedule(() -> succeed(job, out), wait, TimeUnit.NANOSECONDS);
    }
  }

  /** Results are on disk (or in memory for inline input) before the state turns SUCCEEDED. */
  private void succeed(Job job, Output out) {
    synchronized (job) {
      if (job.state != Job.State.RUNNING || job.deleted) {
        out.discard();
        return;
      }
      try {
        if (out.tmp != null) {
          String fileId = "batch-" + job.id;
          files.addGenerated(fileId, out.tmp, RESULT_MIME_TYPE, out.sha256, out.lines);
          job.responsesFile = "files/" + fileId;
        } else {
          job.inlineResponsesJson = out.inlineJson;
        }
      } catch (IOException e) {
        out.discard();
        failLocked(job, Job.State.FAILED, 13, "An internal error has occurred: " + e);
        ended(job);
        return;
      }
      job.state = Job.State.SUCCEEDED;
      job.updateTime = job.endTime = Instant.now();
      cancelExpiry(job);
    }
    finished(job);
    ended(job);
  }

  /** Ends a job that is not terminal yet; false when it already was (or was deleted). */
  boolean terminate(Job job, Job.State state, int code, String message) {
    synchronized (job) {
      if (job.state.terminal() || job.deleted) {
        return false;
      }
      failLocked(job, state, code, message);
    }
    ended(job);
    return true;
  }

  private void ended(Job job) {
    try {
      onEnd.accept(job);
    } catch (RuntimeException e) {
      // a listener's failure must not change the job's outcome
    }
  }

  private void failLocked(Job job, Job.State state, int code, String message) {
    job.state = state;
    job.errorCode = code;
    job.errorMessage = message;
    job.updateTime = job.endTime = Instant.now();
    if (state != Job.State.EXPIRED) {
      cancelExpiry(job);
    }
    // Outside the lock would be nicer, but this is cheap and keeps the count exact.
    finished(job);
  }

  private static void cancelExpiry(Job job) {
    if (job.expiry != null) {
      job.expiry.cancel(false);
    }
  }

  private void finished(Job job) {
    stats.jobDeactivated();
    quotaUse.give(job.owner, job.model, job.enqueuedTokens, stats);
    deleteInput(job);
  }

  private void deleteInput(Job job) {
    if (job.inputPath != null) {
      try {
        Files.deleteIfExists(job.inputPath);
      } catch (IOException e) {
        // left for the data dir's cleanup
      }
    }
  }

  /** What the active jobs hold of each owner's quota. */
  private static final class QuotaUse {
    private final Map<String, Integer> active = new java.util.HashMap<>();
    private final Map<String, Long> tokens = new java.util.HashMap<>();

    synchronized void take(String owner, String model, long n, Quota quota, StatsRecorder stats) {
      int jobs = active.getOrDefault(owner, 0);
      if (quota.maxActiveJobs() > 0 && jobs >= quota.maxActiveJobs()) {
        stats.quotaRefused("activeJobs");
        throw ApiError.quotaExceeded(
            "generativelanguage.googleapis.com/batch_concurrent_requests",
            "BatchConcurrentRequestsPerProject",
            quota.maxActiveJobs(),
            null);
      }
      String key = owner + " " + model;
      long limit = quota.enqueuedTokenLimit(model);
      if (limit > 0 && tokens.getOrDefault(key, 0L) + n > limit) {
        stats.quotaRefused("enqueuedTokens");
        throw ApiError.quotaExceeded(
            "generativelanguage.googleapis.com/batch_enqueued_tokens",
            "BatchEnqueuedTokensPerProjectPerModel",
            limit,
            EmulatorResponder.modelId(model));
      }
      active.merge(owner, 1, Integer::sum);
      tokens.merge(key, n, Long::sum);
      stats.enqueued(n);
    }

    synchronized void give(String owner, String model, long n, StatsRecorder stats) {
      active.merge(owner, -1, Integer::sum);
      tokens.merge(owner + " " + model, -n, Long::sum);
      stats.enqueued(-n);
    }
  }

  // --- API operations --------------------------------------------------------------------------

  /** The caller's job, or 404 (another key's job does not exist for this caller). */
  Job get(String id, String owner) {
    Job job = jobs.get(id);
    if (job == null || !job.owner.equals(owner)) {
      throw ApiError.entityNotFound();
    }
    return job;
  }

  void cancel(String id, String owner) {
    Job job = get(id, owner);
    terminate(job, Job.State.CANCELLED, 1, "The batch job was cancelled.");
  }

  void delete(String id, String owner) {
    Job job = get(id, owner);
    boolean wasActive;
    synchronized (job) {
      if (job.deleted) {
        throw ApiError.entityNotFound();
      }
      job.deleted = true;
      wasActive = !job.state.terminal();
      cancelExpiry(job);
    }
    jobs.remove(id, job);
    if (wasActive) {
      finished(job);
    }
  }

  FileStore.Page<Job> list(String owner, int pageSize, String pageToken) {
    long before = FileStore.PageToken.decode("batches", pageToken);
    List<Job> all = new ArrayList<>();
    for (Job j : jobs.values()) {
      if (j.owner.equals(owner) && j.seq < before) {
        all.add(j);
      }
    }
    all.sort(Comparator.comparingLong((Job j) -> j.seq).reversed());
    if (all.size() <= pageSize) {
      return new FileStore.Page<>(all, null);
    }
    List<Job> page = new ArrayList<>(all.subList(0, pageSize));
    return new FileStore.Page<>(page, FileStore.PageToken.encode("batches", page.get(pageSize - 1).seq));
  }

  Map<String, Long> countByState() {
    Map<String, Long> m = new TreeMap<>();
    for (Job j : jobs.values()) {
      Job.State s;
      synchronized (j) {
        s = j.state;
      }
      m.merge(s.wire(), 1L, Long::sum);
    }
    return m;
  }

  // --- the Operation JSON ----------------------------------------------------------------------

  /** Writes the google.longrunning.Operation for a job, as the live API does (contract §2.1). */
  void writeOperation(JsonGenerator g, Job job) throws IOException {
    Job.State state;
    Instant updateTime;
    Instant endTime;
    long succeeded;
    long failed;
    int errorCode;
    String errorMessage;
    String inlineJson;
    String responsesFile;
    synchronized (job) {
      state = job.state;
      updateTime = job.updateTime;
      endTime = job.endTime;
      succeeded = job.succeeded;
      failed = job.failed;
      errorCode = job.errorCode;
      errorMessage = job.errorMessage;
      inlineJson = job.inlineResponsesJson;
      responsesFile = job.responsesFile;
    }
    boolean embed = job.kind == Job.Kind.EMBED;
    g.writeStartObject();
    g.writeStringField("name", job.name());
    g.writeObjectFieldStart("metadata");
    g.writeStringField("@type", TYPE_PREFIX + job.kind.resourceType);
    g.writeStringField("model", job.model);
    g.writeStringField("displayName", job.displayName);
    if (job.inputFileName != null) {
      g.writeObjectFieldStart("inputConfig");
      g.writeStringField("fileName", job.inputFileName);
      g.writeEndObject();
    }
    if (state == Job.State.SUCCEEDED) {
      g.writeFieldName("output");
      writeOutput(g, embed, null, inlineJson, responsesFile);
    }
    g.writeStringField("createTime", Json.time(job.createTime));
    if (endTime != null) {
      g.writeStringField("endTime", Json.time(endTime));
    }
    g.writeStringField("updateTime", Json.time(updateTime));
    g.writeObjectFieldStart("batchStats");
    long pending = job.requestCount - succeeded - failed;
    int64(g, "requestCount", job.requestCount);
    int64(g, "successfulRequestCount", succeeded);
    int64(g, "failedRequestCount", failed);
    int64(g, "pendingRequestCount", pending);
    g.writeEndObject();
    g.writeStringField("state", state.wire());
    if (job.priority != 0) {
      g.writeStringField("priority", Long.toString(job.priority));
    }
    g.writeStringField("name", job.name());
    g.writeEndObject();
    if (state.terminal()) {
      g.writeBooleanField("done", true);
      if (state == Job.State.SUCCEEDED) {
        g.writeFieldName("response");
        writeOutput(
            g,
            embed,
            TYPE_PREFIX + (embed ? "EmbedContentBatchOutput" : "GenerateContentBatchOutput"),
            inlineJson,
            responsesFile);
      } else {
        g.writeObjectFieldStart("error");
        g.writeNumberField("code", errorCode);
        g.writeStringField("message", errorMessage);
        g.writeEndObject();
      }
    }
    g.writeEndObject();
  }

  private static void writeOutput(
      JsonGenerator g, boolean embed, String type, String inlineJson, String responsesFile)
      throws IOException {
    g.writeStartObject();
    if (type != null) {
      g.writeStringField("@type", type);
    }
    if (responsesFile != null) {
      g.writeStringField("responsesFile", responsesFile);
    } else {
      g.writeObjectFieldStart(embed ? "inlinedEmbedContentResponses" : "inlinedResponses");
      g.writeFieldName("inlinedResponses");
      g.writeRawValue(inlineJson);
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  /** int64 as a JSON string; zero is omitted, as proto JSON does. */
  private static void int64(JsonGenerator g, String name, long v) throws IOException {
    if (v != 0) {
      g.writeStringField(name, Long.toString(v));
    }
  }

  // --- processing ------------------------------------------------------------------------------

  /** Thrown inside processing when the job was cancelled, deleted or expired meanwhile. */
  private static final class Stopped extends Exception {
    Stopped() {
      super(null, null, false, false);
    }
  }

  /** What processing produced: a result file on disk, or the inline responses. */
  private static final class Output {
    final Path tmp;
    final String sha256;
    final long lines;
    final String inlineJson;

    Output(Path tmp, String sha256, long lines, String inlineJson) {
      this.tmp = tmp;
      this.sha256 = sha256;
      this.lines = lines;
      this.inlineJson = inlineJson;
    }

    void discard() {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException e) {
          // left for the data dir's cleanup
        }
      }
    }
  }

  /** Streams the input file line by line into the result file: memory does not grow with size. */
  private Output processFile(Job job) throws IOException, Stopped {
    Path tmp = files.tempPath("batch-" + job.id);
    SplittableRandom errors = new SplittableRandom(job.plan.requestErrorSeed);
    double errorRate = job.plan.requestErrorRate;
    long lines = 0;
    boolean ok = false;
    PipelinedFileOutput out = new PipelinedFileOutput(tmp);
    try (out;
        InputStream in = Files.newInputStream(job.inputPath);
        JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.setRootValueSeparator(null);
      LineReader reader = new LineReader(in);
      EmulatorResponder.Prompt prompt = new EmulatorResponder.Prompt();
      String modelId = EmulatorResponder.modelId(job.model);
      FastGenerateLine fast =
          job.kind == Job.Kind.GENERATE ? new FastGenerateLine(jsonString(modelId)) : null;
      while (reader.next()) {
        if (reader.blank()) {
          continue;
        }
        if ((lines & 255) == 0 && !job.running()) {
          throw new Stopped();
        }
        boolean inject = errorRate > 0 && errors.nextDouble() < errorRate;
        boolean success;
        if (fast != null
            && !inject
            && fast.parse(reader.array, reader.offset, reader.length, prompt)
            && prompt.hasContents) {
          // the common line, without Jackson; the generator has nothing buffered
          fast.writeResponse(prompt, out);
          success = true;
        } else {
          success =
              writeLine(
                  job.kind, modelId, stats, reader.array, reader.offset, reader.length, g, inject,
                  prompt);
          g.writeRaw('\n');
          g.flush();
        }
        job.countProcessed(success);
        lines++;
      }
      ok = true;
    } finally {
      if (!ok) {
        Files.deleteIfExists(tmp);
      }
    }
    // The result's SHA-256 is computed when a client first asks for the file's metadata.
    return new Output(tmp, null, lines, null);
  }

  /** One result line: {@code {"response": ..., "key": ...}} or {@code {"error": ..., "key": ...}}. */
  static boolean writeLine(
      Job.Kind kind,
      String modelId,
      StatsRecorder stats,
      byte[] array,
      int offset,
      int length,
      JsonGenerator g,
      boolean inject,
      EmulatorResponder.Prompt prompt)
      throws IOException {
    Object key = null;
    Object request = null;
    boolean sawRequest = false;
    String error = null;
    try (JsonParser p = Json.FACTORY.createParser(array, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        error = "Invalid input line: each line must be a JSON object {\"key\": ..., \"request\": {...}}.";
      } else {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken t = p.nextToken();
          if (name.equals("key")) {
            key = t == JsonToken.VALUE_STRING ? p.getText() : p.readValueAsTree();
          } else if (name.equals("request") && t == JsonToken.START_OBJECT) {
            sawRequest = true;
            request = readRequest(kind, p, array, offset, length, prompt);
          } else {
            p.skipChildren();
          }
        }
      }
    } catch (JsonProcessingException e) {
      error = "Invalid JSON payload received in input line: " + e.getOriginalMessage();
    }
    if (error == null && !sawRequest) {
      if (key != null) {
        error = "Invalid input line: \"request\" is required.";
      } else {
        // The guide's REST example uploads bare GenerateContentRequest lines: answer them too.
        try (JsonParser p = Json.FACTORY.createParser(array, offset, length)) {
          p.nextToken();
          request = readRequest(kind, p, array, offset, length, prompt);
        }
      }
    }
    g.writeStartObject();
    boolean success = writeResult(kind, modelId, stats, g, request, error, inject);
    if (key instanceof String) {
      g.writeStringField("key", (String) key);
    } else if (key != null) {
      g.writeFieldName("key");
      g.writeTree((JsonNode) key);
    }
    g.writeEndObject();
    return success;
  }

  /** A string as the JSON generator writes it, quotes included. */
  static byte[] jsonString(String s) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (JsonGenerator g = Json.FACTORY.createGenerator(b)) {
      g.writeString(s);
    }
    return b.toByteArray();
  }

  /** Reads a request object from {@code source} into a new EmbedInput or the reused prompt. */
  private static Object readRequest(
      Job.Kind kind,
      JsonParser p,
      byte[] source,
      int offset,
      int length,
      EmulatorResponder.Prompt prompt)
      throws IOException {
    if (kind == Job.Kind.EMBED) {
      return EmulatorResponder.readEmbedRequest(p);
    }
    EmulatorResponder.readGenerateRequest(p, source, offset, offset + length, prompt);
    return prompt;
  }

  /** Writes the "response" or "error" field of a result; true for a response. */
  private static boolean writeResult(
      Job.Kind kind,
      String modelId,
      StatsRecorder stats,
      JsonGenerator g,
      Object request,
      String parseError,
      boolean inject)
      throws IOException {
    String error = parseError;
    if (error == null) {
      if (request instanceof EmulatorResponder.Prompt) {
        if (!((EmulatorResponder.Prompt) request).hasContents) {
          error = EmulatorResponder.MISSING_CONTENTS_MESSAGE;
        }
      } else {
        error = ((EmulatorResponder.EmbedInput) request).error();
      }
    }
    if (error != null || inject) {
      if (error == null) {
        stats.fault("requestError");
      }
      g.writeObjectFieldStart("error");
      g.writeNumberField("code", error != null ? 3 : 13);
      g.writeStringField("message", error != null ? error : EmulatorResponder.INTERNAL_ERROR_MESSAGE);
      g.writeEndObject();
      return false;
    }
    g.writeFieldName("response");
    if (request instanceof EmulatorResponder.Prompt) {
      EmulatorResponder.writeGenerateResponse(g, (EmulatorResponder.Prompt) request, modelId);
    } else {
      EmulatorResponder.writeEmbedResponse(g, (EmulatorResponder.EmbedInput) request);
    }
    return true;
  }

  /** Answers inline requests in memory (they are at most 20 MB). */
  private Output processInline(Job job) throws IOException, Stopped {
    SplittableRandom errors = new SplittableRandom(job.plan.requestErrorSeed);
    double errorRate = job.plan.requestErrorRate;
    List<byte[]> entries = new ArrayList<>(job.inline.size());
    EmulatorResponder.Prompt prompt = new EmulatorResponder.Prompt();
    ByteArrayOutputStream entry = new ByteArrayOutputStream();
    for (Job.InlineRequest r : job.inline) {
      if (!job.running()) {
        throw new Stopped();
      }
      boolean inject = errorRate > 0 && errors.nextDouble() < errorRate;
      entry.reset();
      try (JsonGenerator g = Json.FACTORY.createGenerator(entry)) {
        Object request;
        try (JsonParser p = Json.FACTORY.createParser(r.request)) {
          p.nextToken();
          request = readRequest(job.kind, p, r.request, 0, r.request.length, prompt);
        }
        g.writeStartObject();
        boolean success =
            writeResult(
                job.kind, EmulatorResponder.modelId(job.model), stats, g, request, null, inject);
        if (r.metadataJson != null && !job.plan.omitInlineMetadata) {
          g.writeFieldName("metadata");
          g.writeRawValue(r.metadataJson);
        }
        g.writeEndObject();
        job.countProcessed(success);
      }
      entries.add(entry.toByteArray());
    }
    if (job.plan.reorderInline && entries.size() > 1) {
      SplittableRandom shuffle = new SplittableRandom(job.plan.reorderSeed);
      for (int i = entries.size() - 1; i > 0; i--) {
        int j = shuffle.nextInt(i + 1);
        entries.set(j, entries.set(i, entries.get(j)));
      }
      stats.fault("reorderInline");
    }
    if (job.plan.omitInlineMetadata) {
      stats.fault("omitInlineMetadata");
    }
    ByteArrayOutputStream array = new ByteArrayOutputStream();
    array.write('[');
    for (int i = 0; i < entries.size(); i++) {
      if (i > 0) {
        array.write(',');
      }
      array.write(entries.get(i));
    }
    array.write(']');
    return new Output(null, null, 0, array.toString(StandardCharsets.UTF_8));
  }
}
