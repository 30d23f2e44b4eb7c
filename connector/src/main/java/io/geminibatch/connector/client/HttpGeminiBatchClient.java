package io.geminibatch.connector.client;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ProtocolException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link GeminiBatchClient} over the Gemini API's REST interface, on the JDK's {@link HttpClient}
 * and Jackson's streaming parser. Thread-safe; one HTTP/1.1 connection pool per instance.
 *
 * <p>Messages of exceptions and log lines name the call ({@code batches.get batches/abc}) and carry
 * the service's error, never the API key.
 */
public final class HttpGeminiBatchClient implements GeminiBatchClient {
  private static final int LIST_PAGE_SIZE = 100;
  private static final byte[] EMPTY_OBJECT = {'{', '}'};
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");

  static final RestTransport.Sleeper THREAD_SLEEPER = RestTransport.THREAD_SLEEPER;

  private final GeminiClientConfig config;
  private final String apiKey;
  private final String apiRoot;
  private final String origin;
  private final RestTransport rest;
  private final boolean closeable;
  /** Chunk buffers of uploads that ended, for the next uploads. */
  private final ChunkBuffers chunkBuffers = new ChunkBuffers(2);

  public HttpGeminiBatchClient(GeminiClientConfig config) {
    this(config, THREAD_SLEEPER, true);
  }

  /**
   * @param closeable false for a client shared through {@link GeminiBatchClients}, whose {@link
   *     #close} must not break its other holders
   */
  HttpGeminiBatchClient(GeminiClientConfig config, RestTransport.Sleeper sleeper, boolean closeable) {
    this.config = Objects.requireNonNull(config, "config");
    this.apiKey = config.getApiKey().get();
    if (apiKey == null || apiKey.isEmpty()) {
      throw new IllegalStateException(
          "No Gemini API key: the configured provider (" + config.getApiKey() + ") gave none");
    }
    this.apiRoot = config.getBaseUrl() + "/" + config.getApiVersion() + "/";
    URI base = URI.create(config.getBaseUrl());
    this.origin = base.getScheme() + "://" + base.getRawAuthority();
    String key = apiKey;
    this.rest =
        new RestTransport(
            config,
            new RestTransport.Credential() {
              @Override
              public String headerName() {
                return "x-goog-api-key";
              }

              @Override
              public String headerValue() {
                return key;
              }

              @Override
              public String secret() {
                return key;
              }
            },
            sleeper);
    this.closeable = closeable;
  }

  // ---- Files ----

  @Override
  public GeminiFile uploadFile(
      String fileId, String displayName, String mimeType, long sizeBytes, ContentSource content)
      throws IOException {
    if (sizeBytes <= 0) {
      throw new IllegalArgumentException(
          "sizeBytes must be positive (the Files API keeps no empty files), got " + sizeBytes);
    }
    Objects.requireNonNull(mimeType, "mimeType");
    Objects.requireNonNull(content, "content");
    String call =
        "files.upload"
            + (fileId != null
                ? " files/" + fileId
                : displayName != null ? " (" + displayName + ")" : "");
    byte[] body =
        ApiJson.write(
            g -> {
              g.writeStartObject();
              g.writeObjectFieldStart("file");
              if (fileId != null) {
                g.writeStringField("name", "files/" + fileId);
              }
              if (displayName != null) {
                g.writeStringField("displayName", displayName);
              }
              g.writeStringField("mimeType", mimeType);
              g.writeEndObject();
              g.writeEndObject();
            });
    HttpRequest start =
        request(URI.create(config.getBaseUrl() + "/upload/" + config.getApiVersion() + "/files"))
            .header("X-Goog-Upload-Protocol", "resumable")
            .header("X-Goog-Upload-Command", "start")
            .header("X-Goog-Upload-Header-Content-Length", Long.toString(sizeBytes))
            .header("X-Goog-Upload-Header-Content-Type", mimeType)
            .header("Content-Type", "application/json")
            .POST(BodyPublishers.ofByteArray(body))
            .build();
    URI session =
        retrying(
            call,
            () ->
                exchange(
                    call,
                    start,
                    (reply, in) -> sameOrigin(requiredHeader(reply, "x-goog-upload-url"))));
    try {
      return sendChunks(call, session, sizeBytes, content);
    } catch (IOException e) {
      throw named(call, e);
    }
  }

  /**
   * Sends the content in chunks of one buffer. A chunk that fails is followed by a {@code query}
   * for the bytes the service holds, and the content is reopened from there.
   */
  private GeminiFile sendChunks(String call, URI session, long size, ContentSource content)
      throws IOException {
    int chunk = (int) Math.min(config.getUploadChunkBytes(), size);
    byte[] buffer = chunkBuffers.take(chunk);
    long offset = 0;
    int failures = 0;
    InputStream in = content.open();
    try {
      while (true) {
        int length = (int) Math.min(chunk, size - offset);
        readFully(in, buffer, length, offset, size);
        boolean last = offset + length == size;
        HttpRequest request =
            request(session)
                .header("X-Goog-Upload-Command", last ? "upload, finalize" : "upload")
                .header("X-Goog-Upload-Offset", Long.toString(offset))
                .header("Content-Type", "application/octet-stream")
                .POST(length == 0 ? BodyPublishers.noBody() : new ArraySlicePublisher(buffer, 0, length))
                .build();
        try {
          GeminiFile file =
              exchange(call, request, (reply, body) -> readChunkReply(reply, body, last));
          if (last) {
            // Every chunk was answered: no exchange reads the buffer any more.
            chunkBuffers.give(buffer);
            return file;
          }
          offset += length;
          failures = 0;
        } catch (IOException e) {
          if (!isRetryable(e) || failures >= config.getMaxRetries()) {
            throw e;
          }
          backoff(call, failures++, e);
          // The failed exchange may still be reading its body (slices of the buffer, in place):
          // the next chunk goes in a new buffer.
          buffer = new byte[buffer.length];
          UploadState state = retrying(call, () -> queryUpload(call, session, size));
          if (state.file != null) {
            chunkBuffers.give(buffer);
            return state.file;
          }
          in.close();
          in = content.open();
          in.skipNBytes(state.received);
          offset = state.received;
        }
      }
    } finally {
      in.close();
    }
  }

  /** The file after the final chunk, null after an intermediate one. */
  private static GeminiFile readChunkReply(
      HttpResponse<InputStream> reply, InputStream body, boolean last) throws IOException {
    String status = reply.headers().firstValue("x-goog-upload-status").orElse(null);
    if (!(last ? "final" : "active").equals(status)) {
      // Retryable: the query that follows tells what the service really holds.
      throw new IOException("chunk answered with x-goog-upload-status " + status);
    }
    return last ? ApiJson.read(body, ApiJson::readUploadReply) : null;
  }

  /** What a {@code query} learnt: bytes received, or the file when the upload is complete. */
  private static final class UploadState {
    final long received;
    final GeminiFile file;

    UploadState(long received, GeminiFile file) {
      this.received = received;
      this.file = file;
    }
  }

  private UploadState queryUpload(String call, URI session, long size) throws IOException {
    HttpRequest query =
        request(session)
            .header("X-Goog-Upload-Command", "query")
            .POST(BodyPublishers.noBody())
            .build();
    return exchange(
        call,
        query,
        (reply, body) -> {
          String status = requiredHeader(reply, "x-goog-upload-status");
          if (status.equals("final")) {
            return new UploadState(size, ApiJson.read(body, ApiJson::readUploadReply));
          }
          if (!status.equals("active")) {
            throw new ProtocolException("upload session is " + status);
          }
          String received = requiredHeader(reply, "x-goog-upload-size-received");
          long n;
          try {
            n = Long.parseLong(received.trim());
          } catch (NumberFormatException e) {
            n = -1;
          }
          if (n < 0 || n > size) {
            throw new ProtocolException(
                "x-goog-upload-size-received " + received + " of " + size + " bytes");
          }
          return new UploadState(n, null);
        });
  }

  /** Fills {@code length} bytes, looping over short reads: only end of stream ends a chunk. */
  private static void readFully(InputStream in, byte[] buffer, int length, long offset, long size)
      throws IOException {
    int filled = 0;
    while (filled < length) {
      int n = in.read(buffer, filled, length - filled);
      if (n < 0) {
        throw new EOFException(
            "upload content ended at byte " + (offset + filled) + " of the declared " + size);
      }
      filled += n;
    }
  }

  /** The SDKs' rule: only the path and query of the upload URL count, the host is ours. */
  private URI sameOrigin(String uploadUrl) {
    URI u = URI.create(uploadUrl);
    String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
    return URI.create(
        origin
            + (path.startsWith("/") ? "" : "/")
            + path
            + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery()));
  }

  @Override
  public Optional<GeminiFile> getFile(String name) throws IOException {
    checkName(name, "files/");
    String call = "files.get " + name;
    HttpRequest get = request(api(name)).GET().build();
    return unlessNotFound(
        () ->
            retrying(
                call, () -> exchange(call, get, (r, in) -> ApiJson.read(in, ApiJson::readFile))));
  }

  @Override
  public InputStream download(String fileName) throws IOException {
    return download(fileName, 0);
  }

  @Override
  public InputStream download(String fileName, long offset) throws IOException {
    checkName(fileName, "files/");
    if (offset < 0) {
      throw new IllegalArgumentException("offset must not be negative, got " + offset);
    }
    String call = "files.download " + fileName + (offset > 0 ? " from byte " + offset : "");
    URI uri = api(fileName + ":download?alt=media");
    try {
      return new ResumingInputStream(
          call,
          from -> retrying(call, () -> openDownload(call, uri, from)),
          offset,
          config.getMaxRetries(),
          (retry, cause) -> backoff(call, retry, cause));
    } catch (GeminiApiException e) {
      if (offset > 0 && e.getHttpStatus() == 416) {
        return InputStream.nullInputStream(); // Range Not Satisfiable: nothing past the end
      }
      throw e;
    }
  }

  /** The body from {@code offset} on: a 206 to {@code Range}, or a 200 with the head skipped. */
  private ResumingInputStream.Part openDownload(String call, URI uri, long offset)
      throws IOException {
    HttpRequest.Builder get = request(uri).GET();
    if (offset > 0) {
      get.header("Range", "bytes=" + offset + "-");
    }
    HttpResponse<InputStream> reply = open(call, get.build());
    InputStream body = reply.body();
    try {
      long contentLength = reply.headers().firstValueAsLong("Content-Length").orElse(-1);
      if (reply.statusCode() == 206) {
        // Content-Range: bytes <first>-<last>/<total or *>
        String range = reply.headers().firstValue("Content-Range").orElse("");
        Matcher m = CONTENT_RANGE.matcher(range);
        if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
          throw new ProtocolException(
              "asked for bytes from " + offset + ", got Content-Range '" + range + "'");
        }
        long total = m.group(2).equals("*") ? -1 : Long.parseLong(m.group(2));
        return new ResumingInputStream.Part(
            body, total >= 0 ? total : contentLength < 0 ? -1 : offset + contentLength);
      }
      // 200: the server ignored Range and sends the whole file again.
      body.skipNBytes(offset);
      return new ResumingInputStream.Part(body, contentLength);
    } catch (IOException | RuntimeException e) {
      body.close();
      throw e;
    }
  }

  @Override
  public boolean deleteFile(String name) throws IOException {
    checkName(name, "files/");
    return delete("files.delete " + name, name);
  }

  // ---- Batches ----

  @Override
  public BatchJob createFileBatch(
      BatchKind kind, String model, String displayName, String inputFileName) throws IOException {
    checkName(inputFileName, "files/");
    requireDisplayName(displayName);
    byte[] body =
        ApiJson.write(
            g -> {
              batchStart(g, displayName);
              g.writeStringField("fileName", inputFileName);
              g.writeEndObject();
              g.writeEndObject();
              g.writeEndObject();
            });
    return create(kind, model, displayName, BodyPublishers.ofByteArray(body));
  }

  @Override
  public BatchJob createInlineBatch(
      BatchKind kind, String model, String displayName, byte[] requestsJsonArray)
      throws IOException {
    requireDisplayName(displayName);
    if (requestsJsonArray == null || requestsJsonArray.length == 0) {
      throw new IllegalArgumentException("requestsJsonArray must be a non-empty JSON array");
    }
    byte[] head =
        ApiJson.write(
            g -> {
              batchStart(g, displayName);
              g.writeObjectFieldStart("requests");
              // Raw: the generator would write a field name's colon only with its value.
              g.writeRaw("\"requests\":");
            });
    // The array goes in as it is: no copy of up to 20 MB of requests.
    return create(
        kind,
        model,
        displayName,
        BodyPublishers.concat(
            BodyPublishers.ofByteArray(head),
            BodyPublishers.ofByteArray(requestsJsonArray),
            BodyPublishers.ofString("}}}}")));
  }

  /**
   * Writes {@code {"batch": {"displayName": ..., ["webhookConfig": {...},] "inputConfig": {} and
   * leaves it open.
   */
  private void batchStart(JsonGenerator g, String displayName) throws IOException {
    g.writeStartObject();
    g.writeObjectFieldStart("batch");
    g.writeStringField("displayName", displayName);
    if (!config.getWebhookUris().isEmpty()) {
      g.writeObjectFieldStart("webhookConfig");
      g.writeArrayFieldStart("uris");
      for (String uri : config.getWebhookUris()) {
        g.writeString(uri);
      }
      g.writeEndArray();
      if (!config.getWebhookUserMetadata().isEmpty()) {
        g.writeObjectFieldStart("userMetadata");
        for (java.util.Map.Entry<String, String> e : config.getWebhookUserMetadata().entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      g.writeEndObject();
    }
    g.writeObjectFieldStart("inputConfig");
  }

  /** Tried once: a second POST would be a second, billed job. */
  private BatchJob create(BatchKind kind, String model, String displayName, BodyPublisher body)
      throws IOException {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(model, "model");
    String method = (model.contains("/") ? model : "models/" + model) + ":" + kind.createMethod();
    String call = method + " (displayName " + displayName + ")";
    HttpRequest post =
        request(api(method)).header("Content-Type", "application/json").POST(body).build();
    try {
      return exchange(call, post, (r, in) -> ApiJson.read(in, ApiJson::readOperation));
    } catch (GeminiApiException e) {
      if (e.getHttpStatus() < 500) {
        throw e;
      }
      throw new CreateOutcomeUnknownException(call, e);
    } catch (IOException e) {
      throw new CreateOutcomeUnknownException(call, e);
    }
  }

  @Override
  public Optional<BatchJob> getBatch(String name) throws IOException {
    checkName(name, "batches/");
    String call = "batches.get " + name;
    HttpRequest get = request(api(name)).GET().build();
    return unlessNotFound(
        () ->
            retrying(
                call,
                () -> exchange(call, get, (r, in) -> ApiJson.read(in, ApiJson::readOperation))));
  }

  @Override
  public BatchPage listBatches(int pageSize, String pageToken) throws IOException {
    if (pageSize <= 0) {
      throw new IllegalArgumentException("pageSize must be positive, got " + pageSize);
    }
    String call = "batches.list";
    String query =
        "batches?pageSize="
            + pageSize
            + (pageToken == null
                ? ""
                : "&pageToken=" + URLEncoder.encode(pageToken, StandardCharsets.UTF_8));
    HttpRequest get = request(api(query)).GET().build();
    return retrying(
        call, () -> exchange(call, get, (r, in) -> ApiJson.read(in, ApiJson::readOperationsPage)));
  }

  @Override
  public Optional<BatchJob> findBatchByDisplayName(String displayName) throws IOException {
    requireDisplayName(displayName);
    BatchJob newest = null;
    Comparator<BatchJob> byCreateTime =
        Comparator.comparing(
            BatchJob::getCreateTime, Comparator.nullsFirst(Comparator.naturalOrder()));
    String token = null;
    do {
      BatchPage page = listBatches(LIST_PAGE_SIZE, token);
      for (BatchJob job : page.getJobs()) {
        if (displayName.equals(job.getDisplayName())
            && (newest == null || byCreateTime.compare(job, newest) > 0)) {
          newest = job;
        }
      }
      token = page.getNextPageToken();
    } while (token != null);
    return Optional.ofNullable(newest);
  }

  /**
   * Only the request is retried: once elements have gone to the visitor, a broken body fails the
   * call, since the next reply may order them differently.
   */
  @Override
  public void readInlinedResponses(String batchName, InlinedResponseVisitor visitor)
      throws IOException {
    checkName(batchName, "batches/");
    Objects.requireNonNull(visitor, "visitor");
    String call = "batches.get " + batchName + " (inlined responses)";
    HttpRequest get = request(api(batchName)).GET().build();
    HttpResponse<InputStream> reply = retrying(call, () -> open(call, get));
    try (InputStream body = reply.body()) {
      ApiJson.read(
          body,
          p -> {
            ApiJson.readInlinedResponses(p, visitor);
            return null;
          });
    } catch (IOException e) {
      throw named(call, e);
    }
  }

  @Override
  public void cancelBatch(String name) throws IOException {
    checkName(name, "batches/");
    String call = "batches.cancel " + name;
    HttpRequest post =
        request(api(name + ":cancel"))
            .header("Content-Type", "application/json")
            .POST(BodyPublishers.ofByteArray(EMPTY_OBJECT))
            .build();
    retrying(call, () -> exchange(call, post, (r, in) -> null));
  }

  @Override
  public boolean deleteBatch(String name) throws IOException {
    checkName(name, "batches/");
    return delete("batches.delete " + name, name);
  }

  private boolean delete(String call, String name) throws IOException {
    return rest.delete(call, request(api(name)).DELETE().build());
  }

  /** Closes the connection pool (Java 21+) unless this client is shared. */
  @Override
  public void close() {
    if (closeable) {
      rest.close();
    }
  }

  @Override
  public String toString() {
    return "HttpGeminiBatchClient{" + config + "}";
  }

  // ---- HTTP ----

  private URI api(String pathAndQuery) {
    return URI.create(apiRoot + pathAndQuery);
  }

  private HttpRequest.Builder request(URI uri) throws IOException {
    return rest.request(uri);
  }

  private HttpResponse<InputStream> open(String call, HttpRequest request) throws IOException {
    return rest.open(call, request);
  }

  private <T> T exchange(String call, HttpRequest request, RestTransport.ReplyReader<T> reader)
      throws IOException {
    return rest.exchange(call, request, reader);
  }

  private <T> T retrying(String call, RestTransport.Attempt<T> attempt) throws IOException {
    return rest.retrying(call, attempt);
  }

  private void backoff(String call, int retry, IOException cause) throws IOException {
    rest.backoff(call, retry, cause);
  }

  private static boolean isRetryable(IOException e) {
    return RestTransport.isRetryable(e);
  }

  private static IOException named(String call, IOException e) {
    return RestTransport.named(call, e);
  }

  private static <T> Optional<T> unlessNotFound(RestTransport.Attempt<T> attempt) throws IOException {
    return RestTransport.unlessNotFound(attempt);
  }

  private static String requiredHeader(HttpResponse<?> reply, String name)
      throws ProtocolException {
    return reply
        .headers()
        .firstValue(name)
        .orElseThrow(() -> new ProtocolException("the reply has no " + name + " header"));
  }

  private static void checkName(String name, String prefix) {
    if (name == null
        || !name.startsWith(prefix)
        || name.length() == prefix.length()
        || !name.substring(prefix.length()).matches("[A-Za-z0-9_.-]+")) {
      throw new IllegalArgumentException(
          "expected a resource name like '" + prefix + "abc', got '" + name + "'");
    }
  }

  private static void requireDisplayName(String displayName) {
    if (displayName == null || displayName.isEmpty()) {
      throw new IllegalArgumentException("displayName must be a non-empty string");
    }
  }
}
