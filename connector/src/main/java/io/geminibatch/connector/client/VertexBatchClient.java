package io.geminibatch.connector.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * {@link GeminiBatchClient} on Vertex AI batch prediction ({@code batchPredictionJobs} of a
 * project and location), authenticated with an OAuth access token from Google credentials.
 *
 * <p>The seam's terms map as follows. A "file" is a JSONL object under the target's {@code gs://}
 * staging directory: {@link #uploadFile} writes the staged shard there with its keys made
 * non-numeric (see {@link VertexRows}), as {@code files/<id>.<source size>.jsonl}, and {@code
 * files/<id>} names it. {@link #createFileBatch} creates one {@code batchPredictionJob} reading it
 * and writing under {@code outputs/<displayName>/}. A job's "responses file" is its {@code
 * outputInfo.gcsOutputDirectory}; {@link #download} streams every predictions file in it,
 * translated to the Gemini API's result lines and deduplicated by key. There is no inline input.
 * Objects are read and written through Beam's {@link FileSystems}, so the pipeline's Cloud Storage
 * settings (credentials, endpoint) apply.
 */
public final class VertexBatchClient implements GeminiBatchClient {
  static final String CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
  /** Leaves reply bodies open: the transport drains and closes them. */
  private static final ObjectMapper MAPPER =
      new ObjectMapper().disable(com.fasterxml.jackson.core.JsonParser.Feature.AUTO_CLOSE_SOURCE);
  private static final int LIST_PAGE_SIZE = 100;
  private static final Pattern FILE = Pattern.compile("files/([A-Za-z0-9_.-]+)");
  private static final Pattern STAGED = Pattern.compile(".*/files/([A-Za-z0-9_.-]+)\\.([0-9]+)\\.jsonl");

  private final VertexTarget target;
  private final String apiRoot;
  private final RestTransport rest;
  private final boolean closeable;

  public VertexBatchClient(GeminiClientConfig config) {
    this(config, RestTransport.THREAD_SLEEPER, true);
  }

  VertexBatchClient(GeminiClientConfig config, RestTransport.Sleeper sleeper, boolean closeable) {
    this.target = Objects.requireNonNull(config.getVertex(), "config has no Vertex AI target");
    this.apiRoot = target.endpoint(config.getBaseUrl()) + "/v1/";
    this.rest = new RestTransport(config, new BearerToken(credentials(target)), sleeper);
    this.closeable = closeable;
  }

  private static GoogleCredentials credentials(VertexTarget target) {
    GoogleCredentials c = target.getCredentials();
    if (c == null) {
      try {
        c = GoogleCredentials.getApplicationDefault();
      } catch (IOException e) {
        throw new IllegalStateException(
            "No Google credentials for Vertex AI: Application Default Credentials are not set up"
                + " (run 'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS),"
                + " or give credentials with withGoogleCredentials(...)", e);
      }
    }
    return c.createScopedRequired() ? c.createScoped(List.of(CLOUD_PLATFORM_SCOPE)) : c;
  }

  /** {@code Authorization: Bearer <token>}, refreshed by the credentials when it nears expiry. */
  private static final class BearerToken implements RestTransport.Credential {
    private final GoogleCredentials credentials;
    private volatile String token = "";

    BearerToken(GoogleCredentials credentials) {
      this.credentials = credentials;
    }

    @Override
    public String headerName() {
      return "Authorization";
    }

    @Override
    public String headerValue() throws IOException {
      credentials.refreshIfExpired();
      AccessToken t = credentials.getAccessToken();
      if (t == null || t.getTokenValue() == null) {
        throw new IOException("the Google credentials gave no access token");
      }
      token = t.getTokenValue();
      return "Bearer " + token;
    }

    @Override
    public String secret() {
      return token;
    }
  }

  // ---- Files: objects under the staging directory ----

  @Override
  public GeminiFile uploadFile(
      String fileId, String displayName, String mimeType, long sizeBytes, ContentSource content)
      throws IOException {
    if (fileId == null || !FILE.matcher("files/" + fileId).matches()) {
      throw new IllegalArgumentException("Vertex AI input objects need a file id of [A-Za-z0-9_.-], got '" + fileId + "'");
    }
    String path = stagingDir() + "files/" + fileId + "." + sizeBytes + ".jsonl";
    ResourceId id = FileSystems.matchNewResource(path, false);
    try (InputStream in = content.open();
        OutputStream out = new BufferedOutputStream(
            Channels.newOutputStream(FileSystems.create(id, "application/jsonl")), 1 << 16)) {
      VertexRows.prefixKeys(in, out);
    }
    return new GeminiFile("files/" + fileId, displayName, mimeType, sizeBytes, "ACTIVE", path);
  }

  @Override
  public Optional<GeminiFile> getFile(String name) throws IOException {
    return stagedObject(name).map(path -> {
      Matcher m = STAGED.matcher(path);
      long size = m.matches() ? Long.parseLong(m.group(2)) : -1;
      return new GeminiFile(name, null, "application/jsonl", size, "ACTIVE", path);
    });
  }

  /** The object {@code files/<id>} names, if it is there. */
  private Optional<String> stagedObject(String name) throws IOException {
    Matcher m = FILE.matcher(name == null ? "" : name);
    if (!m.matches()) {
      throw new IllegalArgumentException("expected a name like 'files/abc', got '" + name + "'");
    }
    List<String> found = match(stagingDir() + "files/" + m.group(1) + ".*.jsonl");
    return found.stream().filter(p -> STAGED.matcher(p).matches()).findFirst();
  }

  @Override
  public InputStream download(String fileName) throws IOException {
    return download(fileName, 0);
  }

  /**
   * The job's result lines from byte {@code offset} of the translated stream (the translation is
   * the same on every read: files in name order, the first row of a key kept).
   */
  @Override
  public InputStream download(String outputDirectory, long offset) throws IOException {
    if (outputDirectory == null || !outputDirectory.startsWith("gs://")) {
      throw new IllegalArgumentException("expected a job's gs:// output directory, got '" + outputDirectory + "'");
    }
    List<String> files = new ArrayList<>();
    for (String path : match(directory(outputDirectory) + "**")) {
      if (path.endsWith(".jsonl")) {
        files.add(path);
      }
    }
    Iterator<String> names = files.iterator();
    InputStream in =
        VertexRows.results(
            new Iterator<InputStream>() {
              @Override
              public boolean hasNext() {
                return names.hasNext();
              }

              @Override
              public InputStream next() {
                try {
                  return Channels.newInputStream(FileSystems.open(FileSystems.matchNewResource(names.next(), false)));
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              }
            });
    try {
      in.skipNBytes(offset);
    } catch (java.io.EOFException pastTheEnd) {
      return InputStream.nullInputStream();
    }
    return in;
  }

  /** Deletes a staged input ({@code files/<id>}) or everything under a job's output directory. */
  @Override
  public boolean deleteFile(String name) throws IOException {
    List<String> paths;
    if (name != null && name.startsWith("gs://")) {
      paths = match(directory(name) + "**");
    } else {
      paths = stagedObject(name).map(List::of).orElse(List.of());
    }
    if (paths.isEmpty()) {
      return false;
    }
    List<ResourceId> ids = new ArrayList<>();
    for (String p : paths) {
      ids.add(FileSystems.matchNewResource(p, false));
    }
    FileSystems.delete(ids, MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
    return true;
  }

  private static List<String> match(String glob) throws IOException {
    MatchResult m = FileSystems.match(glob, EmptyMatchTreatment.ALLOW);
    List<String> out = new ArrayList<>();
    if (m.status() == MatchResult.Status.OK) {
      for (MatchResult.Metadata md : m.metadata()) {
        out.add(md.resourceId().toString());
      }
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  private static String directory(String path) {
    return path.endsWith("/") ? path : path + "/";
  }

  private String stagingDir() {
    String dir = target.getStagingDir();
    if (dir == null) {
      throw new IllegalStateException("the Vertex AI target has no gs:// staging directory");
    }
    return dir;
  }

  // ---- Jobs ----

  @Override
  public BatchJob createFileBatch(BatchKind kind, String model, String displayName, String inputFileName)
      throws IOException {
    if (kind != BatchKind.GENERATE) {
      throw new IllegalArgumentException("Vertex AI batch prediction runs generateContent jobs only, not " + kind);
    }
    if (displayName == null || displayName.isEmpty()) {
      throw new IllegalArgumentException("displayName must be a non-empty string");
    }
    String input = stagedObject(inputFileName)
        .orElseThrow(() -> new java.io.FileNotFoundException("no staged input object for " + inputFileName));
    ObjectNode body = MAPPER.createObjectNode();
    body.put("displayName", displayName);
    body.put("model", publisherModel(model));
    ObjectNode in = body.putObject("inputConfig");
    in.put("instancesFormat", "jsonl");
    in.putObject("gcsSource").putArray("uris").add(input);
    ObjectNode out = body.putObject("outputConfig");
    out.put("predictionsFormat", "jsonl");
    out.putObject("gcsDestination").put("outputUriPrefix", stagingDir() + "outputs/" + displayName + "/");
    String call = "batchPredictionJobs.create (displayName " + displayName + ")";
    HttpRequest post = rest.request(api(target.parent() + "/batchPredictionJobs"))
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofByteArray(MAPPER.writeValueAsBytes(body)))
        .build();
    try {
      return rest.exchange(call, post, (r, b) -> job(MAPPER.readTree(b)));
    } catch (GeminiApiException e) {
      if (e.getHttpStatus() < 500) {
        throw e;
      }
      throw new CreateOutcomeUnknownException(call, e);
    } catch (IOException e) {
      throw new CreateOutcomeUnknownException(call, e);
    }
  }

  /** {@code gemini-2.5-flash} or {@code models/gemini-2.5-flash} → {@code publishers/google/models/...}. */
  static String publisherModel(String model) {
    Objects.requireNonNull(model, "model");
    if (model.startsWith("publishers/") || model.startsWith("projects/")) {
      return model;
    }
    String id = model.startsWith("models/") ? model.substring("models/".length()) : model;
    int slash = id.indexOf('/');
    return slash < 0 ? "publishers/google/models/" + id
        : "publishers/" + id.substring(0, slash) + "/models/" + id.substring(slash + 1);
  }

  @Override
  public BatchJob createInlineBatch(BatchKind kind, String model, String displayName, byte[] requestsJsonArray) {
    throw new UnsupportedOperationException(
        "Vertex AI batch prediction reads its input from Cloud Storage only: there are no inline jobs");
  }

  @Override
  public Optional<BatchJob> getBatch(String name) throws IOException {
    String call = "batchPredictionJobs.get " + checkJobName(name);
    HttpRequest get = rest.request(api(name)).GET().build();
    return RestTransport.unlessNotFound(
        () -> rest.retrying(call, () -> rest.exchange(call, get, (r, b) -> job(MAPPER.readTree(b)))));
  }

  @Override
  public BatchPage listBatches(int pageSize, String pageToken) throws IOException {
    return list(pageSize, pageToken, null);
  }

  /** One page of {@code batchPredictionJobs.list}, with a {@code filter} when not null. */
  public BatchPage list(int pageSize, String pageToken, String filter) throws IOException {
    if (pageSize <= 0) {
      throw new IllegalArgumentException("pageSize must be positive, got " + pageSize);
    }
    StringBuilder q = new StringBuilder(target.parent()).append("/batchPredictionJobs?pageSize=").append(pageSize);
    if (pageToken != null) {
      q.append("&pageToken=").append(URLEncoder.encode(pageToken, StandardCharsets.UTF_8));
    }
    if (filter != null) {
      q.append("&filter=").append(URLEncoder.encode(filter, StandardCharsets.UTF_8));
    }
    String call = "batchPredictionJobs.list";
    HttpRequest get = rest.request(api(q.toString())).GET().build();
    return rest.retrying(call, () -> rest.exchange(call, get, (r, b) -> {
      JsonNode page = MAPPER.readTree(b);
      List<BatchJob> jobs = new ArrayList<>();
      for (JsonNode j : page.path("batchPredictionJobs")) {
        jobs.add(job(j));
      }
      String next = page.path("nextPageToken").asText("");
      return new BatchPage(jobs, next.isEmpty() ? null : next);
    }));
  }

  @Override
  public Optional<BatchJob> findBatchByDisplayName(String displayName) throws IOException {
    if (displayName == null || displayName.isEmpty() || displayName.contains("\"")) {
      throw new IllegalArgumentException("displayName must be a non-empty string without quotes, got '" + displayName + "'");
    }
    BatchJob newest = null;
    String token = null;
    do {
      BatchPage page = list(LIST_PAGE_SIZE, token, "display_name=\"" + displayName + "\"");
      for (BatchJob job : page.getJobs()) {
        if (displayName.equals(job.getDisplayName())
            && (newest == null || job.getCreateTime().isAfter(newest.getCreateTime()))) {
          newest = job;
        }
      }
      token = page.getNextPageToken();
    } while (token != null);
    return Optional.ofNullable(newest);
  }

  /** Vertex AI jobs write no inline results: nothing to visit. */
  @Override
  public void readInlinedResponses(String batchName, InlinedResponseVisitor visitor) {}

  /** Best effort; a job that already ended (400 FAILED_PRECONDITION) is left as it is. */
  @Override
  public void cancelBatch(String name) throws IOException {
    String call = "batchPredictionJobs.cancel " + checkJobName(name);
    HttpRequest post = rest.request(api(name + ":cancel"))
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofString("{}"))
        .build();
    try {
      rest.retrying(call, () -> rest.exchange(call, post, (r, b) -> null));
    } catch (GeminiApiException e) {
      if (!"FAILED_PRECONDITION".equals(e.getStatus())) {
        throw e;
      }
    }
  }

  /** Deletes a finished job (the service answers with a long-running Operation). */
  @Override
  public boolean deleteBatch(String name) throws IOException {
    String call = "batchPredictionJobs.delete " + checkJobName(name);
    return rest.delete(call, rest.request(api(name)).DELETE().build());
  }

  @Override
  public void close() {
    if (closeable) {
      rest.close();
    }
  }

  @Override
  public String toString() {
    return "VertexBatchClient{" + target + "}";
  }

  private URI api(String pathAndQuery) {
    return URI.create(apiRoot + pathAndQuery);
  }

  private String checkJobName(String name) {
    if (name == null || !name.matches("projects/[^/]+/locations/[^/]+/batchPredictionJobs/[A-Za-z0-9_-]+")) {
      throw new IllegalArgumentException(
          "expected a job name like 'projects/P/locations/L/batchPredictionJobs/123', got '" + name + "'");
    }
    return name;
  }

  /** A batchPredictionJob as the seam's {@link BatchJob}. */
  private BatchJob job(JsonNode j) {
    BatchJob.Builder b = BatchJob.builder()
        .name(j.path("name").asText())
        .displayName(text(j, "displayName"))
        .model(text(j, "model"))
        .rawState(text(j, "state"))
        .createTime(time(j, "createTime"))
        .updateTime(time(j, "updateTime"))
        .endTime(time(j, "endTime"));
    JsonNode stats = j.path("completionStats");
    long ok = stats.path("successfulCount").asLong(0);
    long failed = stats.path("failedCount").asLong(0);
    long incomplete = Math.max(0, stats.path("incompleteCount").asLong(0));
    b.successfulRequestCount(ok).failedRequestCount(failed).pendingRequestCount(incomplete)
        .requestCount(ok + failed + incomplete);
    for (JsonNode uri : j.path("inputConfig").path("gcsSource").path("uris")) {
      Matcher m = STAGED.matcher(uri.asText());
      if (m.matches()) {
        b.inputFileName("files/" + m.group(1));
      }
    }
    String out = text(j.path("outputInfo"), "gcsOutputDirectory");
    if (out != null) {
      b.responsesFile(out);
    }
    JsonNode error = j.get("error");
    if (error != null && error.isObject()) {
      b.error(new ApiStatus(error.path("code").asInt(ApiStatus.UNKNOWN), error.path("message").asText("")));
    }
    return b.build();
  }

  private static String text(JsonNode j, String field) {
    JsonNode v = j.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static Instant time(JsonNode j, String field) {
    String t = text(j, field);
    return t == null ? null : Instant.parse(t);
  }
}
