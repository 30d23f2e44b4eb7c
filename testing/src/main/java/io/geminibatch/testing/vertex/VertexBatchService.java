package io.geminibatch.testing.vertex;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.geminibatch.testing.EmulatorResponder;
import io.geminibatch.testing.Faults;
import io.geminibatch.testing.gcs.GcsException;
import io.geminibatch.testing.gcs.GcsObject;
import io.geminibatch.testing.gcs.GcsStore;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Vertex AI batch prediction for Gemini models ({@code batchPredictionJobs} under {@code
 * /v1/projects/{p}/locations/{l}/}, and {@code /v1beta1/}), on the emulator's port: create, get,
 * list (with {@code filter} and paging), cancel and delete (a done long-running Operation). Jobs
 * read their JSONL input ({@code {"request": GenerateContentRequest, ...}} lines) from the
 * emulator's Cloud Storage ({@link GcsStore}) and write {@code <outputUriPrefix>/prediction-model-<createTime>/predictions.jsonl}
 * there, one row {@code {..., "status", "processed_time", "request", "response"}} per input line,
 * in a shuffled order; failed rows carry {@code "status": "Bad Request: {...}"} and an empty
 * response. Top-level fields other than {@code request} are echoed. Answers come from {@link
 * EmulatorResponder}, as for the Gemini API.
 *
 * <p>Every call needs {@code Authorization: Bearer <any token>} (none: 401 UNAUTHENTICATED).
 * The emulator's {@link Faults} apply as to Gemini jobs (failed, expired and stuck jobs, per-row
 * errors, 429 and 503 replies), plus the {@link VertexFaults}.
 */
public final class VertexBatchService implements HttpHandler {
  private static final Pattern PATH =
      Pattern.compile(
          "/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/batchPredictionJobs(?:/([^/:]+))?(?::([a-z]+))?");
  private static final Pattern GEMINI_MODEL = Pattern.compile("gemini-[a-z0-9]+([.-][a-z0-9]+)*");
  private static final Pattern MODEL_NAME =
      Pattern.compile("(?:projects/[^/]+/locations/[^/]+/)?publishers/([^/]+)/models/([^/@]+)(?:@.*)?");
  private static final Pattern FILTER_TERM =
      Pattern.compile("\\s*([a-z_.]+)\\s*(!=|=|:)\\s*\"([^\"]*)\"\\s*");
  private static final Pattern NUMERIC = Pattern.compile("-?[0-9]{1,18}");
  private static final DateTimeFormatter RFC3339_MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter PROCESSED_TIME =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSxxx").withZone(ZoneOffset.UTC);
  private static final int DEFAULT_PAGE_SIZE = 100;
  static final String UNAUTHENTICATED_MESSAGE =
      "Request is missing required authentication credential. Expected OAuth 2 access token, login"
          + " cookie or other valid authentication credential. See"
          + " https://developers.google.com/identity/sign-in/web/devconsole-project.";
  static final ObjectMapper MAPPER = JsonMapper.builder().build();
  private static final JsonFactory FACTORY = MAPPER.getFactory();

  private enum Dice {
    THROTTLE,
    UNAVAILABLE,
    FATE,
    JOB_SEED
  }

  private final Supplier<Faults> faults;
  private final Supplier<Duration> latency;
  private final Supplier<Duration> expiry;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService workers;
  private final GcsStore storage;
  private final Map<String, VertexJob> jobs = new ConcurrentHashMap<>();
  private final EnumMap<Dice, SplittableRandom> dice = new EnumMap<>(Dice.class);
  private final AtomicLong nextId = new AtomicLong(1_000_000_000_000_000_000L);
  private final AtomicInteger created = new AtomicInteger();
  private final AtomicInteger rowsWritten = new AtomicInteger();
  private volatile VertexFaults vertexFaults = VertexFaults.none();

  /**
   * @param faults the emulator's current faults
   * @param latency time from create to a terminal state (half PENDING, half RUNNING)
   * @param expiry time after which an unfinished job turns EXPIRED
   */
  public VertexBatchService(
      Supplier<Faults> faults,
      Supplier<Duration> latency,
      Supplier<Duration> expiry,
      ScheduledExecutorService scheduler,
      ExecutorService workers,
      GcsStore storage,
      long seed) {
    this.faults = faults;
    this.latency = latency;
    this.expiry = expiry;
    this.scheduler = scheduler;
    this.workers = workers;
    this.storage = storage;
    reseed(seed);
  }

  /** The paths this service answers, for the emulator's router. */
  public static Predicate<String> paths() {
    return p -> PATH.matcher(p).matches();
  }

  /** Restarts the fault streams from {@code seed} (with the emulator's own faults). */
  public synchronized void reseed(long seed) {
    for (Dice d : Dice.values()) {
      dice.put(d, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + (d.ordinal() + 101) * 0x632BE59BD9B4E019L));
    }
  }

  public VertexFaults vertexFaults() {
    return vertexFaults;
  }

  public void setVertexFaults(VertexFaults f) {
    this.vertexFaults = Objects.requireNonNull(f, "vertexFaults");
  }

  /** Jobs created since start. */
  public int jobsCreated() {
    return created.get();
  }

  /** Prediction rows written since start (duplicates included). */
  public int rowsWritten() {
    return rowsWritten.get();
  }

  /** The state of every job the emulator holds, by job name (e.g. for a test's assertions). */
  public Map<String, String> jobStates() {
    Map<String, String> out = new LinkedHashMap<>();
    jobs.values().stream()
        .sorted(Comparator.comparing(j -> j.createTime))
        .forEach(j -> out.put(j.name, stateOf(j).name()));
    return out;
  }

  private synchronized boolean roll(Dice d, double rate) {
    return rate > 0 && dice.get(d).nextDouble() < rate;
  }

  private synchronized long nextLong(Dice d) {
    return dice.get(d).nextLong();
  }

  private static VertexJob.State stateOf(VertexJob j) {
    synchronized (j) {
      return j.state;
    }
  }

  // ---- HTTP ----

  /** A reply other than 200: Google's error body. */
  private static final class Reply extends RuntimeException {
    final int http;
    final String status;
    final Map<String, String> headers;

    Reply(int http, String status, String message, Map<String, String> headers) {
      super(message, null, false, false);
      this.http = http;
      this.status = status;
      this.headers = headers;
    }

    Reply(int http, String status, String message) {
      this(http, status, message, Map.of());
    }
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readAllBytes();
      }
      try {
        route(ex, body);
      } catch (Reply r) {
        r.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        sendJson(ex, r.http, g -> {
          g.writeStartObject();
          g.writeObjectFieldStart("error");
          g.writeNumberField("code", r.http);
          g.writeStringField("message", r.getMessage());
          g.writeStringField("status", r.status);
          g.writeEndObject();
          g.writeEndObject();
        });
      }
    }
  }

  private void route(HttpExchange ex, byte[] body) throws IOException {
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.substring(7).isBlank()) {
      throw new Reply(401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE,
          Map.of("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\""));
    }
    Faults f = faults.get();
    if (roll(Dice.THROTTLE, f.throttleRate())) {
      throw new Reply(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
          Map.of("Retry-After", "1"));
    }
    if (roll(Dice.UNAVAILABLE, f.unavailableRate())) {
      throw new Reply(503, "UNAVAILABLE", "The service is currently unavailable.", Map.of("Retry-After", "1"));
    }
    Matcher m = PATH.matcher(ex.getRequestURI().getPath());
    if (!m.matches()) {
      throw new Reply(404, "NOT_FOUND", "Requested entity was not found.");
    }
    String project = m.group(2);
    String location = m.group(3);
    String id = m.group(4);
    String verb = m.group(5);
    String method = ex.getRequestMethod();
    String parent = "projects/" + project + "/locations/" + location;
    if (id == null && verb == null) {
      if (method.equals("POST")) {
        create(ex, parent, project, location, body);
      } else if (method.equals("GET")) {
        list(ex, parent, query(ex));
      } else {
        throw methodNotAllowed(method);
      }
      return;
    }
    if (id == null) {
      throw new Reply(404, "NOT_FOUND", "Requested entity was not found.");
    }
    String name = parent + "/batchPredictionJobs/" + id;
    if (verb != null) {
      if (!verb.equals("cancel") || !method.equals("POST")) {
        throw new Reply(404, "NOT_FOUND", "Requested entity was not found.");
      }
      cancel(ex, find(name));
      return;
    }
    switch (method) {
      case "GET" -> sendJson(ex, 200, g -> writeJob(g, find(name)));
      case "DELETE" -> delete(ex, find(name));
      default -> throw methodNotAllowed(method);
    }
  }

  private static Reply methodNotAllowed(String method) {
    return new Reply(405, "METHOD_NOT_ALLOWED", "Method " + method + " is not allowed here.");
  }

  private VertexJob find(String name) {
    VertexJob j = jobs.get(name);
    if (j == null) {
      throw new Reply(404, "NOT_FOUND", "The BatchPredictionJob does not exist: " + name);
    }
    return j;
  }

  // ---- create ----

  private void create(HttpExchange ex, String parent, String project, String location, byte[] body)
      throws IOException {
    JsonNode job;
    try {
      job = MAPPER.readTree(body);
    } catch (IOException e) {
      throw new Reply(400, "INVALID_ARGUMENT", "Invalid JSON payload received. " + e.getMessage());
    }
    if (job == null || !job.isObject()) {
      throw new Reply(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.");
    }
    List<String> missing = new ArrayList<>();
    String displayName = text(job, "displayName", "display_name");
    if (displayName == null || displayName.isEmpty()) {
      missing.add("batch_prediction_job.display_name");
    }
    String model = text(job, "model", "model");
    if (model == null || model.isEmpty()) {
      missing.add("batch_prediction_job.model");
    }
    JsonNode input = node(job, "inputConfig", "input_config");
    JsonNode output = node(job, "outputConfig", "output_config");
    if (input == null) {
      missing.add("batch_prediction_job.input_config");
    } else if (text(input, "instancesFormat", "instances_format") == null) {
      missing.add("batch_prediction_job.input_config.instances_format");
    }
    if (output == null) {
      missing.add("batch_prediction_job.output_config");
    } else if (text(output, "predictionsFormat", "predictions_format") == null) {
      missing.add("batch_prediction_job.output_config.predictions_format");
    }
    if (!missing.isEmpty()) {
      StringBuilder msg = new StringBuilder("List of found errors:");
      for (int i = 0; i < missing.size(); i++) {
        msg.append('\t').append(i + 1).append(".Field: ").append(missing.get(i))
            .append("; Message: Required field is not set.");
      }
      throw new Reply(400, "INVALID_ARGUMENT", msg.append('\t').toString());
    }
    Matcher mm = MODEL_NAME.matcher(model);
    if (!mm.matches()) {
      throw new Reply(400, "INVALID_ARGUMENT",
          "Invalid Model resource name " + model + ": expected publishers/google/models/{model}.");
    }
    String modelId = mm.group(2);
    if (modelId.contains("embedding")) {
      throw new Reply(400, "INVALID_ARGUMENT", "The emulator runs batch prediction for Gemini generateContent"
          + " models only; " + model + " is an embedding model.");
    }
    if (!mm.group(1).equals("google") || !GEMINI_MODEL.matcher(modelId).matches()) {
      throw new Reply(404, "NOT_FOUND", "The PublisherModel " + modelId + " does not exist.");
    }
    if (!"jsonl".equals(text(input, "instancesFormat", "instances_format"))) {
      throw new Reply(400, "INVALID_ARGUMENT", "The emulator reads instancesFormat \"jsonl\" from Cloud Storage only,"
          + " got \"" + text(input, "instancesFormat", "instances_format") + "\".");
    }
    JsonNode uris = node(node(input, "gcsSource", "gcs_source"), "uris", "uris");
    List<String> sources = new ArrayList<>();
    if (uris != null) {
      for (JsonNode u : uris.isArray() ? uris : MAPPER.createArrayNode().add(uris)) {
        sources.add(u.asText());
      }
    }
    if (sources.isEmpty()) {
      throw new Reply(400, "INVALID_ARGUMENT", "List of found errors:\t1.Field: batch_prediction_job.input_config.gcs_source.uris;"
          + " Message: Required field is not set.\t");
    }
    for (String s : sources) {
      if (GsUri.parse(s) == null) {
        throw new Reply(400, "INVALID_ARGUMENT", "Invalid GCS URI: " + s + ". It must start with gs://.");
      }
    }
    if (!"jsonl".equals(text(output, "predictionsFormat", "predictions_format"))) {
      throw new Reply(400, "INVALID_ARGUMENT", "The emulator writes predictionsFormat \"jsonl\" to Cloud Storage only,"
          + " got \"" + text(output, "predictionsFormat", "predictions_format") + "\".");
    }
    String prefix = text(node(output, "gcsDestination", "gcs_destination"), "outputUriPrefix", "output_uri_prefix");
    if (prefix == null || GsUri.parse(prefix) == null) {
      throw new Reply(400, "INVALID_ARGUMENT",
          "List of found errors:\t1.Field: batch_prediction_job.output_config.gcs_destination.output_uri_prefix;"
              + " Message: a gs:// URI is required, got " + prefix + ".\t");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    JsonNode l = node(job, "labels", "labels");
    if (l != null && l.isObject()) {
      l.fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    }
    Faults f = faults.get();
    VertexJob.Fate fate =
        roll(Dice.FATE, f.stuckJobRate()) ? VertexJob.Fate.STUCK
            : roll(Dice.FATE, f.jobFailureRate()) ? VertexJob.Fate.FAIL
            : roll(Dice.FATE, f.jobExpiryRate()) ? VertexJob.Fate.EXPIRE
            : VertexJob.Fate.SUCCEED;
    Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
    String name = parent + "/batchPredictionJobs/" + nextId.getAndAdd(1 + (nextLong(Dice.JOB_SEED) & 0xFFFF));
    VertexJob j = new VertexJob(name, project, location, displayName, "publishers/google/models/" + modelId,
        input, output, labels, now, fate, nextLong(Dice.JOB_SEED));
    jobs.put(name, j);
    created.incrementAndGet();
    schedule(j);
    sendJson(ex, 200, g -> writeJob(g, j));
  }

  private void schedule(VertexJob j) {
    long total = latency.get().toNanos();
    scheduler.schedule(() -> start(j), total / 2, TimeUnit.NANOSECONDS);
    scheduler.schedule(() -> finish(j), total, TimeUnit.NANOSECONDS);
    scheduler.schedule(() -> {
      synchronized (j) {
        j.end(VertexJob.State.JOB_STATE_EXPIRED, 4, "The job did not finish within its time limit.", Instant.now());
      }
    }, expiry.get().toNanos(), TimeUnit.NANOSECONDS);
  }

  private void start(VertexJob j) {
    synchronized (j) {
      if (j.state == VertexJob.State.JOB_STATE_PENDING && j.fate != VertexJob.Fate.STUCK) {
        j.state = VertexJob.State.JOB_STATE_RUNNING;
        j.startTime = Instant.now();
        j.updateTime = j.startTime;
      }
    }
  }

  private void finish(VertexJob j) {
    synchronized (j) {
      if (j.state != VertexJob.State.JOB_STATE_RUNNING) {
        return; // stuck, cancelled or deleted meanwhile
      }
      switch (j.fate) {
        case FAIL -> {
          j.end(VertexJob.State.JOB_STATE_FAILED, 13, "Internal error occurred. Please retry in a few minutes.", Instant.now());
          return;
        }
        case EXPIRE -> {
          j.end(VertexJob.State.JOB_STATE_EXPIRED, 4, "The job did not finish within its time limit.", Instant.now());
          return;
        }
        default -> { }
      }
    }
    workers.execute(() -> run(j));
  }

  /** Reads the input, answers every line, writes the predictions, and ends the job. */
  private void run(VertexJob j) {
    GsUri prefix = GsUri.parse(text(node(j.outputConfig, "gcsDestination", "gcs_destination"),
        "outputUriPrefix", "output_uri_prefix"));
    String dirName = (prefix.name.isEmpty() || prefix.name.endsWith("/") ? prefix.name : prefix.name + "/")
        + "prediction-model-" + RFC3339_MICROS.format(j.createTime);
    List<byte[]> rows = new ArrayList<>();
    long[] counts = new long[2];
    SplittableRandom random = new SplittableRandom(j.seed);
    VertexFaults vf = vertexFaults;
    double errorRate = faults.get().requestErrorRate();
    try {
      String modelId = j.model.substring(j.model.lastIndexOf('/') + 1);
      for (String source : inputObjects(j)) {
        GsUri uri = GsUri.parse(source);
        try (BufferedReader in = new BufferedReader(
            new InputStreamReader(storage.openObject(uri.bucket, uri.name), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
              continue;
            }
            JsonNode row;
            try {
              row = MAPPER.readTree(line);
            } catch (IOException e) {
              row = null;
            }
            if (row == null || !row.isObject()) {
              fail(j, 3, "Failed to import data. Line is not a JSON object in " + source + ".");
              return;
            }
            boolean injected = random.nextDouble() < errorRate;
            byte[] out = answer(row, modelId, injected, vf.coerceNumericKeys(), counts);
            rows.add(out);
            if (random.nextDouble() < vf.duplicateRowRate()) {
              rows.add(out);
            }
          }
        } catch (GcsException e) {
          fail(j, e.httpCode() == 404 ? 3 : 7, "Failed to import data. " + e.getMessage() + " (" + source + ")");
          return;
        }
      }
      // Rows come back in no particular order.
      for (int i = rows.size() - 1; i > 0; i--) {
        int k = random.nextInt(i + 1);
        byte[] t = rows.get(i);
        rows.set(i, rows.get(k));
        rows.set(k, t);
      }
      try (OutputStream out = new BufferedOutputStream(
          storage.newObjectWriter(prefix.bucket, dirName + "/predictions.jsonl", "application/jsonl"), 1 << 16)) {
        for (byte[] r : rows) {
          out.write(r);
          out.write('\n');
        }
      }
      rowsWritten.addAndGet(rows.size());
    } catch (GcsException e) {
      fail(j, e.httpCode() == 404 ? 9 : 7, "Failed to write the predictions to gs://" + prefix.bucket + "/" + dirName
          + ": " + e.getMessage());
      return;
    } catch (IOException | RuntimeException e) {
      fail(j, 13, "System error: " + e.getMessage());
      return;
    }
    synchronized (j) {
      j.successful = counts[0];
      j.failed = counts[1];
      j.outputDirectory = "gs://" + prefix.bucket + "/" + dirName;
      j.end(VertexJob.State.JOB_STATE_SUCCEEDED, 0, null, Instant.now());
    }
  }

  private void fail(VertexJob j, int code, String message) {
    synchronized (j) {
      j.end(VertexJob.State.JOB_STATE_FAILED, code, message, Instant.now());
    }
  }

  /** The objects the job's {@code gcsSource.uris} name; a {@code *} matches within a name. */
  private List<String> inputObjects(VertexJob j) throws IOException {
    List<String> out = new ArrayList<>();
    for (JsonNode u : node(node(j.inputConfig, "gcsSource", "gcs_source"), "uris", "uris")) {
      GsUri uri = GsUri.parse(u.asText());
      int star = uri.name.indexOf('*');
      if (star < 0) {
        out.add(u.asText());
        continue;
      }
      Pattern glob = Pattern.compile(Pattern.quote(uri.name).replace("*", "\\E.*\\Q"));
      for (String name : storage.listObjects(uri.bucket, uri.name.substring(0, star)).stream().map(GcsObject::name).toList()) {
        if (glob.matcher(name).matches()) {
          out.add("gs://" + uri.bucket + "/" + name);
        }
      }
    }
    return out;
  }

  /** One output row for one input line. */
  private static byte[] answer(JsonNode line, String modelId, boolean injectedError, boolean coerce, long[] counts)
      throws IOException {
    JsonNode request = line.get("request");
    String status = "";
    String response = "{}";
    if (request == null || !request.isObject()) {
      status = badRequest(400, "INVALID_ARGUMENT", "Invalid JSON payload: the line has no \"request\" object.");
    } else if (injectedError) {
      status = badRequest(500, "INTERNAL", EmulatorResponder.INTERNAL_ERROR_MESSAGE);
    } else {
      try {
        response = EmulatorResponder.generateContentResponse(MAPPER.writeValueAsString(request), modelId);
      } catch (IllegalArgumentException e) {
        status = badRequest(400, "INVALID_ARGUMENT", e.getMessage());
      }
    }
    counts[status.isEmpty() ? 0 : 1]++;
    ByteArrayOutputStream buf = new ByteArrayOutputStream(256 + response.length());
    try (JsonGenerator g = FACTORY.createGenerator(buf)) {
      g.writeStartObject();
      var fields = line.fields();
      while (fields.hasNext()) {
        var e = fields.next();
        if (e.getKey().equals("request") || e.getKey().equals("status") || e.getKey().equals("response")
            || e.getKey().equals("processed_time")) {
          continue;
        }
        g.writeFieldName(e.getKey());
        JsonNode v = e.getValue();
        if (coerce && v.isTextual() && NUMERIC.matcher(v.asText()).matches()) {
          g.writeNumber(Long.parseLong(v.asText()));
        } else {
          g.writeTree(v);
        }
      }
      g.writeStringField("status", status);
      g.writeStringField("processed_time", PROCESSED_TIME.format(Instant.now()));
      g.writeFieldName("request");
      g.writeTree(request == null ? MAPPER.nullNode() : request);
      g.writeFieldName("response");
      g.writeRawValue(response);
      g.writeEndObject();
    }
    return buf.toByteArray();
  }

  /** A failed row's status: the HTTP reason phrase, then Google's error body. */
  private static String badRequest(int http, String status, String message) {
    String reason = http == 400 ? "Bad Request" : "Internal Server Error";
    try {
      String body = MAPPER.writeValueAsString(Map.of("error", new LinkedHashMap<>(Map.of(
          "code", http, "message", message, "status", status))));
      return reason + ": " + body;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- get, list, cancel, delete ----

  private void list(HttpExchange ex, String parent, Map<String, String> q) throws IOException {
    int pageSize = DEFAULT_PAGE_SIZE;
    if (q.containsKey("pageSize")) {
      try {
        pageSize = Integer.parseInt(q.get("pageSize"));
      } catch (NumberFormatException e) {
        throw new Reply(400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32), \"" + q.get("pageSize") + "\"");
      }
      if (pageSize <= 0) {
        pageSize = DEFAULT_PAGE_SIZE;
      }
      pageSize = Math.min(pageSize, 1000);
    }
    Predicate<VertexJob> filter = filter(q.get("filter"));
    List<VertexJob> matching = jobs.values().stream()
        .filter(j -> j.name.startsWith(parent + "/"))
        .filter(filter)
        .sorted(Comparator.comparing((VertexJob j) -> j.createTime).thenComparing(j -> j.name).reversed())
        .toList();
    int from = 0;
    String token = q.get("pageToken");
    if (token != null && !token.isEmpty()) {
      try {
        from = Integer.parseInt(new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new Reply(400, "INVALID_ARGUMENT", "Invalid page token.");
      }
    }
    int to = Math.min(matching.size(), from + pageSize);
    List<VertexJob> page = from >= matching.size() ? List.of() : matching.subList(from, to);
    String next = to < matching.size()
        ? Base64.getUrlEncoder().withoutPadding().encodeToString(Integer.toString(to).getBytes(StandardCharsets.UTF_8))
        : null;
    sendJson(ex, 200, g -> {
      g.writeStartObject();
      if (!page.isEmpty()) {
        g.writeArrayFieldStart("batchPredictionJobs");
        for (VertexJob j : page) {
          writeJob(g, j);
        }
        g.writeEndArray();
      }
      if (next != null) {
        g.writeStringField("nextPageToken", next);
      }
      g.writeEndObject();
    });
  }

  /** The list filter: terms joined by AND on state, display_name and labels.KEY. */
  private static Predicate<VertexJob> filter(String filter) {
    Predicate<VertexJob> all = j -> true;
    if (filter == null || filter.isBlank()) {
      return all;
    }
    for (String term : filter.split("(?i)\\s+AND\\s+")) {
      Matcher m = FILTER_TERM.matcher(term);
      if (!m.matches()) {
        throw new Reply(400, "INVALID_ARGUMENT", "Unsupported filter term: " + term.trim());
      }
      String field = m.group(1);
      String op = m.group(2);
      String value = m.group(3);
      java.util.function.Function<VertexJob, String> of;
      if (field.equals("state")) {
        of = j -> stateOf(j).name();
      } else if (field.equals("display_name")) {
        of = j -> j.displayName;
      } else if (field.startsWith("labels.")) {
        String key = field.substring("labels.".length());
        of = j -> j.labels.get(key);
      } else {
        throw new Reply(400, "INVALID_ARGUMENT", "Unsupported filter field: " + field);
      }
      Predicate<VertexJob> p;
      switch (op) {
        case "=" -> p = j -> value.equals(of.apply(j));
        case "!=" -> p = j -> !value.equals(of.apply(j));
        default -> {
          Pattern wildcard = Pattern.compile(Pattern.quote(value).replace("*", "\\E.*\\Q"));
          p = j -> of.apply(j) != null && wildcard.matcher(of.apply(j)).matches();
        }
      }
      all = all.and(p);
    }
    return all;
  }

  private void cancel(HttpExchange ex, VertexJob j) throws IOException {
    synchronized (j) {
      if (j.state.terminal) {
        throw new Reply(400, "FAILED_PRECONDITION", "Cannot cancel BatchPredictionJob " + j.name
            + " in state " + j.state.name() + ".");
      }
      j.state = VertexJob.State.JOB_STATE_CANCELLING;
      j.updateTime = Instant.now();
    }
    scheduler.schedule(() -> {
      synchronized (j) {
        if (j.state == VertexJob.State.JOB_STATE_CANCELLING) {
          j.end(VertexJob.State.JOB_STATE_CANCELLED, 1, "CANCELED", Instant.now());
        }
      }
    }, Math.max(1, Math.min(500, latency.get().toMillis() / 10)), TimeUnit.MILLISECONDS);
    sendJson(ex, 200, g -> {
      g.writeStartObject();
      g.writeEndObject();
    });
  }

  private void delete(HttpExchange ex, VertexJob j) throws IOException {
    synchronized (j) {
      if (!j.state.terminal) {
        throw new Reply(400, "FAILED_PRECONDITION", "The BatchPredictionJob " + j.name + " is in state "
            + j.state.name() + "; only a finished job can be deleted.");
      }
    }
    jobs.remove(j.name);
    String now = RFC3339_MICROS.format(Instant.now());
    String opName = "projects/" + j.project + "/locations/" + j.location + "/operations/" + j.id();
    sendJson(ex, 200, g -> {
      g.writeStartObject();
      g.writeStringField("name", opName);
      g.writeObjectFieldStart("metadata");
      g.writeStringField("@type", "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata");
      g.writeObjectFieldStart("genericMetadata");
      g.writeStringField("createTime", now);
      g.writeStringField("updateTime", now);
      g.writeEndObject();
      g.writeEndObject();
      g.writeBooleanField("done", true);
      g.writeObjectFieldStart("response");
      g.writeStringField("@type", "type.googleapis.com/google.protobuf.Empty");
      g.writeEndObject();
      g.writeEndObject();
    });
  }

  private static void writeJob(JsonGenerator g, VertexJob j) throws IOException {
    synchronized (j) {
      g.writeStartObject();
      g.writeStringField("name", j.name);
      g.writeStringField("displayName", j.displayName);
      g.writeStringField("model", j.model);
      g.writeFieldName("inputConfig");
      g.writeTree(j.inputConfig);
      g.writeFieldName("outputConfig");
      g.writeTree(j.outputConfig);
      if (j.outputDirectory != null) {
        g.writeObjectFieldStart("outputInfo");
        g.writeStringField("gcsOutputDirectory", j.outputDirectory);
        g.writeEndObject();
      }
      g.writeStringField("state", j.state.name());
      if (j.errorMessage != null) {
        g.writeObjectFieldStart("error");
        g.writeNumberField("code", j.errorCode);
        g.writeStringField("message", j.errorMessage);
        g.writeEndObject();
      }
      if (j.state == VertexJob.State.JOB_STATE_SUCCEEDED) {
        g.writeObjectFieldStart("completionStats");
        if (j.successful > 0) {
          g.writeStringField("successfulCount", Long.toString(j.successful));
        }
        if (j.failed > 0) {
          g.writeStringField("failedCount", Long.toString(j.failed));
        }
        g.writeEndObject();
      }
      g.writeStringField("createTime", RFC3339_MICROS.format(j.createTime));
      if (j.startTime != null) {
        g.writeStringField("startTime", RFC3339_MICROS.format(j.startTime));
      }
      if (j.endTime != null) {
        g.writeStringField("endTime", RFC3339_MICROS.format(j.endTime));
      }
      g.writeStringField("updateTime", RFC3339_MICROS.format(j.updateTime));
      if (!j.labels.isEmpty()) {
        g.writeObjectFieldStart("labels");
        for (Map.Entry<String, String> e : j.labels.entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      g.writeEndObject();
    }
  }

  // ---- helpers ----

  @FunctionalInterface
  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static void sendJson(HttpExchange ex, int code, Body body) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream(1024);
    try (JsonGenerator g = FACTORY.createGenerator(buf)) {
      g.useDefaultPrettyPrinter();
      body.write(g);
      g.writeRaw('\n');
    }
    byte[] bytes = buf.toByteArray();
    ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
    ex.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static Map<String, String> query(HttpExchange ex) {
    Map<String, String> q = new LinkedHashMap<>();
    String raw = ex.getRequestURI().getRawQuery();
    if (raw != null) {
      for (String pair : raw.split("&")) {
        int eq = pair.indexOf('=');
        String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        q.put(k.equals("page_size") ? "pageSize" : k.equals("page_token") ? "pageToken" : k, v);
      }
    }
    return q;
  }

  /** A field by its camelCase or snake_case name, or null. */
  private static JsonNode node(JsonNode object, String camel, String snake) {
    if (object == null || !object.isObject()) {
      return null;
    }
    JsonNode v = object.has(camel) ? object.get(camel) : object.get(snake);
    return v == null || v.isNull() ? null : v;
  }

  private static String text(JsonNode object, String camel, String snake) {
    JsonNode v = node(object, camel, snake);
    return v == null || !v.isValueNode() ? null : v.asText();
  }

  /** {@code gs://bucket/name}. */
  record GsUri(String bucket, String name) {
    static GsUri parse(String uri) {
      if (uri == null || !uri.startsWith("gs://")) {
        return null;
      }
      String rest = uri.substring(5);
      int slash = rest.indexOf('/');
      String bucket = slash < 0 ? rest : rest.substring(0, slash);
      if (bucket.isEmpty()) {
        return null;
      }
      return new GsUri(bucket, slash < 0 ? "" : rest.substring(slash + 1));
    }
  }
}
