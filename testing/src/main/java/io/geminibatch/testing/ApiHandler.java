package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.geminibatch.testing.webhooks.WebhookService;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Routes and answers every HTTP call: the Files API (resumable upload, get, list, delete,
 * download), the batch endpoints, and the emulator's own {@code /_emulator/*} endpoints.
 *
 * <p>Order of checks for an API call: route (unknown → 404), count the call, API key (403/400),
 * injected 429/503, then the endpoint itself. Nothing is logged unless verbose, and then only the
 * method, the path (never the query, where {@code ?key=} would be) and the status.
 */
final class ApiHandler implements HttpHandler {
  /** The API's request size limit (inline batches are bounded by it). */
  static final int MAX_REQUEST_BYTES = 20 * 1024 * 1024;

  private static final String V = "(v1beta|v1)";
  private static final Pattern CREATE =
      Pattern.compile("/" + V + "/models/([^/:]+):(batchGenerateContent|asyncBatchEmbedContent)");
  private static final Pattern BATCHES = Pattern.compile("/" + V + "/batches");
  private static final Pattern BATCH = Pattern.compile("/" + V + "/batches/([^/:]+)");
  private static final Pattern BATCH_CANCEL = Pattern.compile("/" + V + "/batches/([^/:]+):cancel");
  private static final Pattern UPLOAD = Pattern.compile("/upload/" + V + "/files");
  private static final Pattern FILES = Pattern.compile("/" + V + "/files");
  private static final Pattern FILE = Pattern.compile("/" + V + "/files/([^/:]+)");
  private static final Pattern DOWNLOAD =
      Pattern.compile("(?:/download)?/" + V + "/files/([^/:]+):download");
  private static final Pattern GENERATE_MODEL =
      Pattern.compile("gemini-[a-z0-9]+([.-][a-z0-9]+)*");
  private static final Pattern EMBED_MODEL =
      Pattern.compile("(gemini-embedding|text-embedding|embedding)(-[a-z0-9]+)*");
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

  private static final Set<String> BODY_FIELDS = Set.of("batch");
  private static final Set<String> BATCH_FIELDS =
      Set.of(
          "model", "name", "displayName", "inputConfig", "priority", "webhookConfig", "output",
          "createTime", "endTime", "updateTime", "batchStats", "state");
  private static final Set<String> INPUT_FIELDS = Set.of("requests", "fileName");

  private static final String MISSING_KEY =
      "Method doesn't allow unregistered callers (callers without established identity). Please"
          + " use API Key or other form of API consumer identity to call this API.";
  private static final String BAD_KEY = "API key not valid. Please pass a valid API key.";
  private static final String BAD_KEY_DETAILS =
      "[{\"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\", \"reason\": \"API_KEY_INVALID\","
          + " \"domain\": \"googleapis.com\", \"metadata\": {\"service\":"
          + " \"generativelanguage.googleapis.com\"}}, {\"@type\":"
          + " \"type.googleapis.com/google.rpc.LocalizedMessage\", \"locale\": \"en-US\","
          + " \"message\": \"API key not valid. Please pass a valid API key.\"}]";

  /** Google's JSON style: two-space indent, {@code "name": value}, {@code {}} when empty. */
  private static final DefaultPrettyPrinter PRETTY =
      new DefaultPrettyPrinter(
              Separators.createDefaultInstance()
                  .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                  .withObjectEmptySeparator("")
                  .withArrayEmptySeparator(""))
          .withObjectIndenter(new DefaultIndenter("  ", "\n"))
          .withArrayIndenter(new DefaultIndenter("  ", "\n"));

  private final GeminiEmulator emulator;
  private final FileStore files;
  private final JobStore jobs;
  private final StatsRecorder stats;
  private final FaultDice dice;

  ApiHandler(GeminiEmulator emulator) {
    this.emulator = emulator;
    this.files = emulator.files;
    this.jobs = emulator.jobs;
    this.stats = emulator.stats;
    this.dice = emulator.dice;
  }

  /** One routed call: what to count it as, whether it needs a key, and what to do. */
  @FunctionalInterface
  private interface Action {
    void run(String owner) throws IOException;
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String path = ex.getRequestURI().getPath();
    envelope(
        ex,
        () -> {
          if (path.startsWith("/_emulator/")) {
            emulatorEndpoint(ex, method, path);
          } else {
            api(ex, method, path, query(ex.getRequestURI().getRawQuery()));
          }
        });
  }

  /**
   * Serves a call routed to another emulated API's handler (webhooks, ...) with the same checks
   * as the Gemini API's own calls: count it, the API key (403/400), injected 429/503, then the
   * call; an {@link ApiError} it throws is answered in Google's error shape. The endpoint {@code
   * unknown} is counted and run without a key (it answers 404).
   */
  void serve(HttpExchange ex, String endpoint, WebhookService.Call call) throws IOException {
    envelope(
        ex,
        () -> {
          stats.call(endpoint);
          if (endpoint.equals("unknown")) {
            call.run(null);
            return;
          }
          String owner = authenticate(ex, query(ex.getRequestURI().getRawQuery()));
          injectTransientError();
          call.run(owner);
        });
  }

  @FunctionalInterface
  private interface Exchange {
    void run() throws IOException;
  }

  /** Runs one exchange: errors in Google's shape, dropped connections, the log, the close. */
  private void envelope(HttpExchange ex, Exchange body) throws IOException {
    String method = ex.getRequestMethod();
    String path = ex.getRequestURI().getPath();
    try {
      body.run();
    } catch (AbortConnection e) {
      log(method, path, "connection dropped (" + e.getMessage() + ")");
      throw e; // the JDK server closes the connection of a handler that throws
    } catch (ApiError e) {
      sendError(ex, e);
    } catch (IOException | RuntimeException e) {
      if (ex.getResponseCode() != -1) {
        throw e; // mid-reply (a client gone away): the connection closes
      }
      sendError(ex, new ApiError(500, "INTERNAL", "Internal error in the emulator: " + e));
    } finally {
      log(method, path, ex.getResponseCode());
      ex.close();
    }
  }

  private void log(String method, String path, Object outcome) {
    if (emulator.verbose) {
      System.err.println("[gemini-emulator] " + method + " " + path + " -> " + outcome);
    }
  }

  // --- routing ---------------------------------------------------------------------------------

  private void api(HttpExchange ex, String method, String path, Map<String, String> query)
      throws IOException {
    Matcher m;
    String endpoint;
    String expectedMethod;
    boolean needsKey = true;
    Action action;
    if ((m = CREATE.matcher(path)).matches()) {
      Matcher mm = m;
      endpoint = "batches.create";
      expectedMethod = "POST";
      Job.Kind kind =
          mm.group(3).equals("batchGenerateContent") ? Job.Kind.GENERATE : Job.Kind.EMBED;
      action = owner -> create(ex, mm.group(1), mm.group(2), kind, owner);
    } else if ((m = BATCHES.matcher(path)).matches()) {
      endpoint = "batches.list";
      expectedMethod = "GET";
      action = owner -> listBatches(ex, query, owner);
    } else if ((m = BATCH_CANCEL.matcher(path)).matches()) {
      String id = m.group(2);
      endpoint = "batches.cancel";
      expectedMethod = "POST";
      action =
          owner -> {
            jobs.cancel(id, owner);
            sendEmpty(ex);
          };
    } else if ((m = BATCH.matcher(path)).matches()) {
      String id = m.group(2);
      if (method.equals("DELETE")) {
        endpoint = "batches.delete";
        expectedMethod = "DELETE";
        action =
            owner -> {
              jobs.delete(id, owner);
              sendEmpty(ex);
            };
      } else {
        endpoint = "batches.get";
        expectedMethod = "GET";
        action = owner -> sendOperation(ex, jobs.get(id, owner));
      }
    } else if ((m = UPLOAD.matcher(path)).matches()) {
      expectedMethod = "POST";
      String version = m.group(1);
      String uploadId = query.get("upload_id");
      if (uploadId == null) {
        endpoint = "files.upload.start";
        action = owner -> startUpload(ex, version);
      } else {
        // The upload URL is the credential of a session, as with Google's upload service.
        needsKey = false;
        List<String> commands = uploadCommands(ex);
        endpoint = commands.contains("query") ? "files.upload.query" : "files.upload.chunk";
        action = owner -> uploadChunk(ex, uploadId, commands);
      }
    } else if ((m = FILES.matcher(path)).matches()) {
      endpoint = "files.list";
      expectedMethod = "GET";
      action = owner -> listFiles(ex, query);
    } else if ((m = DOWNLOAD.matcher(path)).matches()) {
      String id = m.group(2);
      endpoint = "files.download";
      expectedMethod = "GET";
      action = owner -> download(ex, id, query);
    } else if ((m = FILE.matcher(path)).matches()) {
      String id = m.group(2);
      if (method.equals("DELETE")) {
        endpoint = "files.delete";
        expectedMethod = "DELETE";
        action =
            owner -> {
              files.delete(id);
              sendEmpty(ex);
            };
      } else {
        endpoint = "files.get";
        expectedMethod = "GET";
        action = owner -> sendFile(ex, files.get(id));
      }
    } else {
      stats.call("unknown");
      throw ApiError.notFound("The requested URL " + path + " was not found on this server.");
    }
    if (!method.equals(expectedMethod)) {
      // Google's front end routes by method and path: another method finds nothing there.
      stats.call("unknown");
      throw ApiError.notFound(
          "The requested URL " + path + " was not found on this server (" + method
              + " is not supported there; use " + expectedMethod + ").");
    }
    stats.call(endpoint);
    long started = System.currentTimeMillis();
    String owner = needsKey ? authenticate(ex, query) : null;
    injectTransientError();
    action.run(owner);
    // After the action the reply, a download's body included, has been written.
    stats.served(endpoint, started, System.currentTimeMillis());
  }

  /** The SHA-256 of the caller's API key: jobs belong to it. */
  private String authenticate(HttpExchange ex, Map<String, String> query) {
    String key = ex.getRequestHeaders().getFirst("x-goog-api-key");
    if (key == null || key.isEmpty()) {
      key = query.get("key");
    }
    if (key == null || key.isEmpty()) {
      throw new ApiError(403, "PERMISSION_DENIED", MISSING_KEY);
    }
    byte[] given = key.getBytes(StandardCharsets.UTF_8);
    String expected = emulator.apiKey;
    if (expected != null
        && !MessageDigest.isEqual(given, expected.getBytes(StandardCharsets.UTF_8))) {
      throw new ApiError(400, "INVALID_ARGUMENT", BAD_KEY, BAD_KEY_DETAILS, Map.of());
    }
    return HexFormat.of().formatHex(FileStore.sha256().digest(given));
  }

  private void injectTransientError() {
    Faults f = emulator.faults();
    if (dice.roll(FaultDice.Stream.THROTTLE, f.throttleRate())) {
      stats.fault("throttle");
      throw new ApiError(
          429,
          "RESOURCE_EXHAUSTED",
          "Resource has been exhausted (e.g. check quota).",
          null,
          Map.of("Retry-After", "1"));
    }
    if (dice.roll(FaultDice.Stream.UNAVAILABLE, f.unavailableRate())) {
      stats.fault("unavailable");
      throw new ApiError(
          503, "UNAVAILABLE", "The service is currently unavailable.", null, Map.of("Retry-After", "1"));
    }
  }

  // --- batches ---------------------------------------------------------------------------------

  private void create(HttpExchange ex, String version, String modelId, Job.Kind kind, String owner)
      throws IOException {
    Pattern models = kind == Job.Kind.GENERATE ? GENERATE_MODEL : EMBED_MODEL;
    if (!models.matcher(modelId).matches()
        || (kind == Job.Kind.GENERATE && modelId.contains("embedding"))) {
      throw ApiError.notFound(
          "models/" + modelId + " is not found for API version " + version
              + ", or is not supported for " + kind.method
              + ". Call ListModels to see the list of available models and their supported methods.");
    }
    JsonNode body = readJson(ex);
    checkFields(body, "", BODY_FIELDS);
    JsonNode batch = Json.field(body, "batch");
    if (batch == null) {
      throw ApiError.invalidArgument("Invalid value at 'batch': batch is required.");
    }
    checkFields(batch, "batch", BATCH_FIELDS);
    String displayName = string(batch, "displayName", "batch.display_name");
    if (displayName == null || displayName.isEmpty()) {
      throw ApiError.invalidArgument(
          "Invalid value at 'batch.display_name': displayName is required.");
    }
    long priority = int64(Json.field(batch, "priority"), "batch.priority");
    JsonNode input = Json.field(batch, "inputConfig");
    if (input == null) {
      throw ApiError.invalidArgument(
          "Invalid value at 'batch.input_config': inputConfig is required.");
    }
    checkFields(input, "batch.input_config", INPUT_FIELDS);
    String fileName = string(input, "fileName", "batch.input_config.file_name");
    JsonNode requests = Json.field(input, "requests");
    if ((fileName == null) == (requests == null)) {
      throw ApiError.invalidArgument(
          "Invalid value at 'batch.input_config': exactly one of file_name (fileName) and"
              + " requests must be set.");
    }
    StoredFile file = null;
    List<Job.InlineRequest> inline = null;
    if (fileName != null) {
      file = files.get(fileName);
      if (file.lines == 0) {
        throw ApiError.invalidArgument(
            "Invalid value at 'batch.input_config.file_name': " + file.name()
                + " contains no request lines.");
      }
    } else {
      inline = inlineRequests(requests);
    }
    Faults f = emulator.faults();
    if (dice.roll(FaultDice.Stream.SPURIOUS_QUOTA_REFUSAL, f.spuriousQuotaRefusalRate())) {
      stats.fault("spuriousQuotaRefusal");
      stats.quotaRefused("spurious");
      throw ApiError.quotaRefusedSpuriously();
    }
    Quota quota = emulator.quota();
    long tokens = 0;
    if (quota.limitsTokens()) {
      tokens = file != null ? EnqueuedTokens.ofFile(kind, file) : EnqueuedTokens.ofInline(kind, inline);
    }
    // Every stream is drawn on every create, so that one fault's rate does not shift another's.
    boolean stuck = dice.roll(FaultDice.Stream.STUCK_JOB, f.stuckJobRate());
    boolean fail = dice.roll(FaultDice.Stream.JOB_FAILURE, f.jobFailureRate());
    boolean expire = dice.roll(FaultDice.Stream.JOB_EXPIRY, f.jobExpiryRate());
    fail &= !stuck;
    expire &= !stuck && !fail;
    if (stuck) {
      stats.fault("stuckJob");
    } else if (fail) {
      stats.fault("jobFailure");
    } else if (expire) {
      stats.fault("jobExpiry");
    }
    long latency = emulator.jobLatency().toNanos();
    Job.Plan plan =
        new Job.Plan(
            latency / 2,
            latency - latency / 2,
            stuck,
            fail,
            expire,
            f.requestErrorRate(),
            dice.nextSeed(FaultDice.Stream.REQUEST_ERROR),
            f.reorderInline(),
            dice.nextSeed(FaultDice.Stream.REORDER_INLINE),
            f.omitInlineMetadata());
    JsonNode webhookConfig = Json.field(batch, "webhookConfig");
    List<String> webhookUris = webhookUris(webhookConfig);
    JsonNode userMetadata = Json.field(webhookConfig, "userMetadata");
    if (userMetadata != null && !userMetadata.isObject()) {
      throw ApiError.invalidArgument(
          "Invalid value at 'batch.webhook_config.user_metadata': expected an object"
              + " (google.protobuf.Struct).");
    }
    Job job =
        jobs.create(
            owner, kind, "models/" + modelId, displayName, priority, file, inline, plan, quota, tokens,
            webhookUris, userMetadata == null ? null : Json.MAPPER.writeValueAsString(userMetadata));
    if (dice.roll(FaultDice.Stream.LOST_CREATE_REPLY, f.lostCreateReplyRate())) {
      stats.fault("lostCreateReply");
      throw new AbortConnection("lost create reply of " + job.name());
    }
    sendOperation(ex, job);
  }

  /** The URIs of a batch's {@code webhookConfig} (each an absolute http(s) URL). */
  private static List<String> webhookUris(JsonNode config) {
    if (config == null) {
      return List.of();
    }
    String at = "batch.webhook_config";
    if (!config.isObject()) {
      throw ApiError.invalidArgument("Invalid value at '" + at + "': expected an object.");
    }
    checkFields(config, at, Set.of("uris", "userMetadata"));
    JsonNode uris = Json.field(config, "uris");
    if (uris == null) {
      return List.of();
    }
    if (!uris.isArray()) {
      throw ApiError.invalidArgument("Invalid value at '" + at + ".uris': expected a list.");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < uris.size(); i++) {
      JsonNode u = uris.get(i);
      String s = u.isTextual() ? u.asText() : "";
      boolean ok;
      try {
        java.net.URI parsed = new java.net.URI(s);
        String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(Locale.ROOT);
        ok = (scheme.equals("http") || scheme.equals("https")) && parsed.getHost() != null;
      } catch (java.net.URISyntaxException e) {
        ok = false;
      }
      if (!ok) {
        throw ApiError.invalidArgument(
            "Invalid value at '" + at + ".uris[" + i + "]' (" + u + "): expected an absolute"
                + " https:// (or, on the emulator, http://) URL.");
      }
      out.add(s);
    }
    return List.copyOf(out);
  }

  private static List<Job.InlineRequest> inlineRequests(JsonNode requests) throws IOException {
    String at = "batch.input_config.requests";
    if (!requests.isObject()) {
      throw ApiError.invalidArgument("Invalid value at '" + at + "': expected an object {\"requests\": [...]}.");
    }
    checkFields(requests, at, Set.of("requests"));
    JsonNode list = Json.field(requests, "requests");
    if (list == null || !list.isArray() || list.isEmpty()) {
      throw ApiError.invalidArgument(
          "Invalid value at '" + at + ".requests': at least one request is required.");
    }
    List<Job.InlineRequest> out = new ArrayList<>(list.size());
    for (int i = 0; i < list.size(); i++) {
      JsonNode item = list.get(i);
      String itemAt = at + ".requests[" + i + "]";
      if (!item.isObject()) {
        throw ApiError.invalidArgument("Invalid value at '" + itemAt + "': expected an object.");
      }
      checkFields(item, itemAt, Set.of("request", "metadata"));
      JsonNode request = Json.field(item, "request");
      if (request == null || !request.isObject()) {
        throw ApiError.invalidArgument(
            "Invalid value at '" + itemAt + ".request': request is required.");
      }
      JsonNode metadata = Json.field(item, "metadata");
      if (metadata != null && !metadata.isObject()) {
        throw ApiError.invalidArgument(
            "Invalid value at '" + itemAt + ".metadata': expected an object (google.protobuf.Struct).");
      }
      out.add(
          new Job.InlineRequest(
              Json.MAPPER.writeValueAsBytes(request),
              metadata == null ? null : Json.MAPPER.writeValueAsString(metadata)));
    }
    return out;
  }

  private void listBatches(HttpExchange ex, Map<String, String> query, String owner)
      throws IOException {
    if (query.containsKey("filter")) {
      throw ApiError.invalidArgument(
          "Invalid value at 'filter': the emulator does not support filters on batches.list.");
    }
    int pageSize = pageSize(query, 50, 1000);
    FileStore.Page<Job> page = jobs.list(owner, pageSize, pageToken(query));
    sendJson(
        ex,
        200,
        g -> {
          g.writeStartObject();
          if (!page.items.isEmpty()) {
            g.writeArrayFieldStart("operations");
            for (Job j : page.items) {
              jobs.writeOperation(g, j);
            }
            g.writeEndArray();
          }
          if (page.nextPageToken != null) {
            g.writeStringField("nextPageToken", page.nextPageToken);
          }
          g.writeEndObject();
        });
  }

  private void sendOperation(HttpExchange ex, Job job) throws IOException {
    sendJson(ex, 200, g -> jobs.writeOperation(g, job));
  }

  // --- files -----------------------------------------------------------------------------------

  private void startUpload(HttpExchange ex, String version) throws IOException {
    String protocol = header(ex, "X-Goog-Upload-Protocol");
    if (!"resumable".equalsIgnoreCase(protocol)) {
      throw ApiError.invalidArgument(
          "Unsupported X-Goog-Upload-Protocol " + (protocol == null ? "(none)" : "'" + protocol + "'")
              + ": the emulator serves resumable uploads only (X-Goog-Upload-Protocol: resumable).");
    }
    String command = header(ex, "X-Goog-Upload-Command");
    if (command == null || !command.trim().equalsIgnoreCase("start")) {
      throw ApiError.invalidArgument(
          "X-Goog-Upload-Command must be 'start' to begin a resumable upload, got "
              + (command == null ? "none" : "'" + command + "'") + ".");
    }
    Long declared = null;
    String lengthHeader = header(ex, "X-Goog-Upload-Header-Content-Length");
    if (lengthHeader != null) {
      try {
        declared = Long.parseLong(lengthHeader.trim());
      } catch (NumberFormatException e) {
        throw ApiError.invalidArgument(
            "Invalid X-Goog-Upload-Header-Content-Length: '" + lengthHeader + "'.");
      }
    }
    JsonNode body = readJson(ex);
    JsonNode file = Json.field(body, "file");
    if (file != null && !file.isObject()) {
      throw ApiError.invalidArgument("Invalid value at 'file': expected an object.");
    }
    String name = string(file, "name", "file.name");
    String displayName = string(file, "displayName", "file.display_name");
    String mimeType = string(file, "mimeType", "file.mime_type");
    JsonNode size = Json.field(file, "sizeBytes");
    if (declared == null && size != null) {
      declared = int64(size, "file.size_bytes");
    }
    if (declared != null && declared <= 0) {
      throw ApiError.invalidArgument(
          "The upload is empty (declared size " + declared + "): a file must have at least one byte.");
    }
    if (declared != null && declared > FileStore.MAX_FILE_BYTES) {
      throw ApiError.invalidArgument(
          "The file is " + declared + " bytes; the maximum is " + FileStore.MAX_FILE_BYTES + " bytes.");
    }
    if (displayName != null && displayName.length() > 512) {
      throw ApiError.invalidArgument(
          "Invalid value at 'file.display_name': at most 512 characters, got " + displayName.length() + ".");
    }
    if (mimeType == null || mimeType.isEmpty()) {
      mimeType = header(ex, "X-Goog-Upload-Header-Content-Type");
    }
    if (mimeType == null || mimeType.isEmpty()) {
      mimeType = "application/octet-stream";
    }
    UploadSession s = files.startUpload(name, displayName, mimeType, declared);
    String url =
        emulator.baseUrl() + "/upload/" + version + "/files?upload_id=" + s.uploadId
            + "&upload_protocol=resumable";
    ex.getResponseHeaders().set("X-Goog-Upload-URL", url);
    ex.getResponseHeaders().set("X-Goog-Upload-Control-URL", url);
    ex.getResponseHeaders().set("X-Goog-Upload-Status", "active");
    ex.sendResponseHeaders(200, -1);
  }

  private static List<String> uploadCommands(HttpExchange ex) {
    String header = header(ex, "X-Goog-Upload-Command");
    List<String> out = new ArrayList<>();
    if (header != null) {
      for (String c : header.split(",")) {
        if (!c.isBlank()) {
          out.add(c.trim().toLowerCase(Locale.ROOT));
        }
      }
    }
    return out;
  }

  private void uploadChunk(HttpExchange ex, String uploadId, List<String> commands)
      throws IOException {
    UploadSession s = files.session(uploadId);
    if (commands.contains("query")) {
      StoredFile done;
      long received;
      synchronized (s) {
        done = s.result;
        received = s.received;
      }
      ex.getResponseHeaders().set("X-Goog-Upload-Status", done != null ? "final" : "active");
      ex.getResponseHeaders().set("X-Goog-Upload-Size-Received", Long.toString(received));
      if (done != null) {
        sendUploadedFile(ex, done);
      } else {
        ex.sendResponseHeaders(200, -1);
      }
      return;
    }
    if (commands.contains("cancel")) {
      files.cancel(s);
      ex.getResponseHeaders().set("X-Goog-Upload-Status", "cancelled");
      ex.sendResponseHeaders(200, -1);
      return;
    }
    boolean finalize = commands.contains("finalize");
    if (!finalize && !commands.contains("upload")) {
      throw ApiError.invalidArgument(
          "Unsupported X-Goog-Upload-Command " + commands
              + ": expected 'upload', 'upload, finalize', 'finalize', 'query' or 'cancel'.");
    }
    String offsetHeader = header(ex, "X-Goog-Upload-Offset");
    long offset;
    try {
      offset = Long.parseLong(offsetHeader == null ? "" : offsetHeader.trim());
    } catch (NumberFormatException e) {
      throw ApiError.invalidArgument(
          "X-Goog-Upload-Offset is required on an upload chunk and must be a byte offset, got "
              + (offsetHeader == null ? "none" : "'" + offsetHeader + "'") + ".");
    }
    long contentLength = -1;
    String cl = header(ex, "Content-Length");
    if (cl != null) {
      try {
        contentLength = Long.parseLong(cl.trim());
      } catch (NumberFormatException e) {
        // the JDK server rejects such requests before us
      }
    }
    // Never parse a chunk by its Content-Type: Node sends application/json on raw bytes.
    files.chunk(s, offset, contentLength, ex.getRequestBody(), finalize);
    if (finalize) {
      ex.getResponseHeaders().set("X-Goog-Upload-Status", "final");
      StoredFile done;
      synchronized (s) {
        done = s.result;
      }
      sendUploadedFile(ex, done);
    } else {
      long received;
      synchronized (s) {
        received = s.received;
      }
      ex.getResponseHeaders().set("X-Goog-Upload-Status", "active");
      ex.getResponseHeaders().set("X-Goog-Upload-Size-Received", Long.toString(received));
      ex.sendResponseHeaders(200, -1);
    }
  }

  private void sendUploadedFile(HttpExchange ex, StoredFile f) throws IOException {
    sendJson(
        ex,
        200,
        g -> {
          g.writeStartObject();
          g.writeFieldName("file");
          f.write(g, emulator.baseUrl());
          g.writeEndObject();
        });
  }

  private void sendFile(HttpExchange ex, StoredFile f) throws IOException {
    sendJson(ex, 200, g -> f.write(g, emulator.baseUrl()));
  }

  private void listFiles(HttpExchange ex, Map<String, String> query) throws IOException {
    int pageSize = pageSize(query, 10, 100);
    FileStore.Page<StoredFile> listed = files.list(pageSize, pageToken(query));
    for (int attempt = 1; attempt < 4 && !hashed(listed.items); attempt++) {
      // a file of the page was deleted while its SHA-256 was computed: list again without it
      listed = files.list(pageSize, pageToken(query));
    }
    FileStore.Page<StoredFile> page = listed;
    sendJson(
        ex,
        200,
        g -> {
          g.writeStartObject();
          if (!page.items.isEmpty()) {
            g.writeArrayFieldStart("files");
            for (StoredFile f : page.items) {
              f.write(g, emulator.baseUrl());
            }
            g.writeEndArray();
          }
          if (page.nextPageToken != null) {
            g.writeStringField("nextPageToken", page.nextPageToken);
          }
          g.writeEndObject();
        });
  }

  /** Computes the (lazy) SHA-256 of each file; false when one was deleted meanwhile. */
  private static boolean hashed(List<StoredFile> items) throws IOException {
    for (StoredFile f : items) {
      try {
        f.sha256Base64();
      } catch (ApiError e) {
        return false;
      }
    }
    return true;
  }

  /** Streams a file's bytes (or a {@code Range: bytes=N-[M]} of them) from disk. */
  private void download(HttpExchange ex, String id, Map<String, String> query) throws IOException {
    StoredFile f = files.get(id);
    if (!"media".equals(query.get("alt"))) {
      throw ApiError.invalidArgument(
          "Invalid value at 'alt': :download serves bytes only, with alt=media.");
    }
    long start = 0;
    long end = f.sizeBytes - 1;
    int code = 200;
    String range = header(ex, "Range");
    if (range != null) {
      Matcher m = RANGE.matcher(range.trim());
      if (!m.matches()) {
        throw ApiError.invalidArgument(
            "Unsupported Range '" + range + "': use bytes=N- or bytes=N-M.");
      }
      start = Long.parseLong(m.group(1));
      if (!m.group(2).isEmpty()) {
        end = Math.min(end, Long.parseLong(m.group(2)));
      }
      if (start >= f.sizeBytes || start > end) {
        ex.getResponseHeaders().set("Content-Range", "bytes */" + f.sizeBytes);
        throw new ApiError(
            416, "OUT_OF_RANGE", "Requested range not satisfiable: " + range + " of " + f.sizeBytes + " bytes.");
      }
      code = 206;
      ex.getResponseHeaders()
          .set("Content-Range", "bytes " + start + "-" + end + "/" + f.sizeBytes);
    }
    long length = end - start + 1;
    boolean drop = dice.roll(FaultDice.Stream.DROP_DOWNLOAD, emulator.faults().dropDownloadRate());
    long toSend = drop ? length / 2 : length;
    try (FileChannel ch = FileChannel.open(f.path, StandardOpenOption.READ)) {
      ex.getResponseHeaders()
          .set("Content-Type", f.mimeType.contains("/") ? f.mimeType : "application/octet-stream");
      ex.getResponseHeaders().set("Accept-Ranges", "bytes");
      ex.sendResponseHeaders(code, length);
      OutputStream out = ex.getResponseBody();
      byte[] buf = new byte[1 << 16];
      ByteBuffer bb = ByteBuffer.wrap(buf);
      long pos = start;
      long sent = 0;
      try {
        while (sent < toSend) {
          bb.clear().limit((int) Math.min(buf.length, toSend - sent));
          int n = ch.read(bb, pos);
          if (n <= 0) {
            throw new IOException("file " + f.name() + " shrank while downloading");
          }
          out.write(buf, 0, n);
          pos += n;
          sent += n;
        }
        out.flush();
      } finally {
        stats.downloaded(sent);
      }
    }
    if (drop) {
      stats.fault("dropDownload");
      throw new AbortConnection("download of " + f.name() + " dropped after " + toSend + " bytes");
    }
  }

  // --- the emulator's own endpoints ------------------------------------------------------------

  private void emulatorEndpoint(HttpExchange ex, String method, String path) throws IOException {
    switch (method + " " + path) {
      case "GET /_emulator/stats":
        sendRaw(ex, 200, emulator.stats().toJson());
        return;
      case "POST /_emulator/reset-stats":
        emulator.resetStats();
        sendRaw(ex, 200, emulator.stats().toJson());
        return;
      case "GET /_emulator/faults":
        sendRaw(ex, 200, faultsJson(emulator.faults()));
        return;
      case "POST /_emulator/faults":
        emulator.setFaults(mergeFaults(emulator.faults(), readJson(ex)));
        sendRaw(ex, 200, faultsJson(emulator.faults()));
        return;
      case "GET /_emulator/webhooks":
        sendRaw(
            ex,
            200,
            "{\"dynamicSigningSecret\": \"" + emulator.webhookSigningSecret() + "\"}\n");
        return;
      case "POST /_emulator/job-latency":
        JsonNode body = readJson(ex);
        JsonNode v = body.get("jobLatency");
        try {
          emulator.setJobLatency(Duration.parse(v == null ? "" : v.asText()));
        } catch (RuntimeException e) {
          throw ApiError.invalidArgument(
              "jobLatency must be an ISO-8601 duration such as PT2S, got " + v + ".");
        }
        sendRaw(ex, 200, "{\"jobLatency\": \"" + emulator.jobLatency() + "\"}\n");
        return;
      default:
        throw ApiError.notFound(
            "Unknown emulator endpoint " + method + " " + path
                + " (GET /_emulator/stats, POST /_emulator/reset-stats, GET|POST /_emulator/faults,"
                + " POST /_emulator/job-latency, GET /_emulator/webhooks).");
    }
  }

  static String faultsJson(Faults f) {
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.put("jobFailureRate", f.jobFailureRate());
    n.put("jobExpiryRate", f.jobExpiryRate());
    n.put("requestErrorRate", f.requestErrorRate());
    n.put("throttleRate", f.throttleRate());
    n.put("unavailableRate", f.unavailableRate());
    n.put("dropDownloadRate", f.dropDownloadRate());
    n.put("stuckJobRate", f.stuckJobRate());
    n.put("lostCreateReplyRate", f.lostCreateReplyRate());
    n.put("spuriousQuotaRefusalRate", f.spuriousQuotaRefusalRate());
    n.put("reorderInline", f.reorderInline());
    n.put("omitInlineMetadata", f.omitInlineMetadata());
    n.put("webhookDuplicateRate", f.webhookDuplicateRate());
    n.put("webhookDelayRate", f.webhookDelayRate());
    return n.toPrettyString() + "\n";
  }

  /** Applies the fields present in {@code json} over {@code base}. */
  static Faults mergeFaults(Faults base, JsonNode json) {
    Faults.Builder b = base.toBuilder();
    for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode v = e.getValue();
      try {
        switch (e.getKey()) {
          case "jobFailureRate": b.jobFailureRate(rate(e.getKey(), v)); break;
          case "jobExpiryRate": b.jobExpiryRate(rate(e.getKey(), v)); break;
          case "requestErrorRate": b.requestErrorRate(rate(e.getKey(), v)); break;
          case "throttleRate": b.throttleRate(rate(e.getKey(), v)); break;
          case "unavailableRate": b.unavailableRate(rate(e.getKey(), v)); break;
          case "dropDownloadRate": b.dropDownloadRate(rate(e.getKey(), v)); break;
          case "stuckJobRate": b.stuckJobRate(rate(e.getKey(), v)); break;
          case "lostCreateReplyRate": b.lostCreateReplyRate(rate(e.getKey(), v)); break;
          case "spuriousQuotaRefusalRate": b.spuriousQuotaRefusalRate(rate(e.getKey(), v)); break;
          case "reorderInline": b.reorderInline(bool(e.getKey(), v)); break;
          case "omitInlineMetadata": b.omitInlineMetadata(bool(e.getKey(), v)); break;
          case "webhookDuplicateRate": b.webhookDuplicateRate(rate(e.getKey(), v)); break;
          case "webhookDelayRate": b.webhookDelayRate(rate(e.getKey(), v)); break;
          default:
            throw ApiError.invalidArgument("Unknown fault '" + e.getKey() + "'.");
        }
      } catch (IllegalArgumentException iae) {
        throw ApiError.invalidArgument(iae.getMessage());
      }
    }
    return b.build();
  }

  private static double rate(String name, JsonNode v) {
    if (!v.isNumber()) {
      throw ApiError.invalidArgument(name + " must be a number in [0, 1], got " + v + ".");
    }
    return v.asDouble();
  }

  private static boolean bool(String name, JsonNode v) {
    if (!v.isBoolean()) {
      throw ApiError.invalidArgument(name + " must be true or false, got " + v + ".");
    }
    return v.asBoolean();
  }

  // --- request helpers -------------------------------------------------------------------------

  private static String header(HttpExchange ex, String name) {
    return ex.getRequestHeaders().getFirst(name);
  }

  static Map<String, String> query(String rawQuery) {
    return QueryString.parse(rawQuery);
  }

  private static int pageSize(Map<String, String> query, int dflt, int max) {
    String s = query.containsKey("pageSize") ? query.get("pageSize") : query.get("page_size");
    if (s == null || s.isEmpty()) {
      return dflt;
    }
    int n;
    try {
      n = Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw ApiError.invalidArgument("Invalid value at 'page_size' (TYPE_INT32), \"" + s + "\"");
    }
    if (n < 0) {
      throw ApiError.invalidArgument("Invalid value at 'page_size': must not be negative, got " + n + ".");
    }
    return n == 0 ? dflt : Math.min(n, max);
  }

  private static String pageToken(Map<String, String> query) {
    return query.containsKey("pageToken") ? query.get("pageToken") : query.get("page_token");
  }

  /** Reads a JSON body (at most 20 MB); an empty body is {}. */
  private static JsonNode readJson(HttpExchange ex) throws IOException {
    byte[] body = readBody(ex.getRequestBody());
    if (body.length == 0) {
      return Json.MAPPER.createObjectNode();
    }
    JsonNode n;
    try {
      n = Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiError.invalidArgument("Invalid JSON payload received. " + e.getOriginalMessage());
    }
    if (n == null || n.isMissingNode()) {
      return Json.MAPPER.createObjectNode();
    }
    if (!n.isObject()) {
      throw ApiError.invalidArgument(
          "Invalid JSON payload received. Expected an object, got " + n.getNodeType() + ".");
    }
    return n;
  }

  private static byte[] readBody(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[1 << 16];
    int n;
    while ((n = in.read(buf)) > 0) {
      if (out.size() + n > MAX_REQUEST_BYTES) {
        throw ApiError.invalidArgument(
            "Request payload size exceeds the limit: " + MAX_REQUEST_BYTES + " bytes.");
      }
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  /** Rejects fields proto JSON would not know, as the live API does. */
  private static void checkFields(JsonNode node, String at, Set<String> known) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(Json.camel(name))) {
        throw ApiError.invalidArgument(
            "Invalid JSON payload received. Unknown name \"" + name + "\""
                + (at.isEmpty() ? "" : " at '" + at + "'") + ": Cannot find field.");
      }
    }
  }

  private static String string(JsonNode object, String camel, String at) {
    JsonNode v = Json.field(object, camel);
    if (v == null) {
      return null;
    }
    if (!v.isTextual()) {
      throw ApiError.invalidArgument("Invalid value at '" + at + "' (TYPE_STRING), " + v);
    }
    return v.asText();
  }

  /** An int64 given as a JSON string or number (proto JSON accepts both); absent is 0. */
  private static long int64(JsonNode v, String at) {
    if (v == null) {
      return 0;
    }
    try {
      if (v.isIntegralNumber() && v.canConvertToLong()) {
        return v.asLong();
      }
      if (v.isTextual()) {
        return Long.parseLong(v.asText().trim());
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw ApiError.invalidArgument("Invalid value at '" + at + "' (TYPE_INT64), " + v);
  }

  // --- responses -------------------------------------------------------------------------------

  @FunctionalInterface
  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static void sendJson(HttpExchange ex, int code, Body body) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream(1024);
    try (JsonGenerator g = Json.FACTORY.createGenerator(buf)) {
      g.setPrettyPrinter(PRETTY.createInstance());
      body.write(g);
      g.writeRaw('\n');
    }
    send(ex, code, buf.toByteArray());
  }

  private static void sendEmpty(HttpExchange ex) throws IOException {
    sendRaw(ex, 200, "{}\n");
  }

  private static void sendRaw(HttpExchange ex, int code, String json) throws IOException {
    send(ex, code, json.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int code, byte[] bytes) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
    ex.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static void sendError(HttpExchange ex, ApiError e) throws IOException {
    if (ex.getResponseCode() != -1) {
      return; // headers already went out: nothing more can be said on this exchange
    }
    // Read what the client is still sending (an 8 MiB chunk, say), so that it gets to read the
    // error instead of failing to write into a closed connection.
    try (InputStream body = ex.getRequestBody()) {
      body.transferTo(OutputStream.nullOutputStream());
    } catch (IOException ignored) {
      // the client went away; the error is sent all the same
    }
    e.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
    sendJson(
        ex,
        e.httpCode,
        g -> {
          g.writeStartObject();
          g.writeObjectFieldStart("error");
          g.writeNumberField("code", e.httpCode);
          g.writeStringField("message", e.getMessage());
          g.writeStringField("status", e.status);
          if (e.detailsJson != null) {
            g.writeFieldName("details");
            g.writeTree(Json.MAPPER.readTree(e.detailsJson));
          }
          g.writeEndObject();
          g.writeEndObject();
        });
  }
}
