package io.geminibatch.testing.gcs;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The Cloud Storage JSON API over HTTP, on the emulator's port: the subset {@code
 * google-cloud-storage} and Beam's GCS filesystem (gcsio) use (see {@code
 * shared/vertex-gcs-api.md} §4-5 and {@code testing/README.md}).
 *
 * <ul>
 *   <li>{@code /storage/v1/b} (buckets insert, list), {@code /storage/v1/b/B} (get, delete);
 *   <li>{@code /storage/v1/b/B/o} (list: prefix, delimiter, pageToken, maxResults), {@code
 *       /storage/v1/b/B/o/O} (get, {@code ?alt=media}, delete, patch, update), {@code
 *       .../rewriteTo/b/B2/o/O2}, {@code .../copyTo/b/B2/o/O2}, {@code .../compose};
 *   <li>{@code /upload/storage/v1/b/B/o} with {@code uploadType=media}, {@code multipart} (the
 *       body may be gzip-encoded) or {@code resumable} (an absolute session URL in {@code
 *       Location}; chunks by {@code PUT} with {@code Content-Range}; 308 with {@code Range});
 *   <li>{@code /download/storage/v1/b/B/o/O?alt=media} with {@code Range} (206, 416);
 *   <li>{@code POST /batch/storage/v1}: a {@code multipart/mixed} batch of the calls above;
 *   <li>{@code /_emulator/gcs/stats}, {@code /_emulator/gcs/reset-stats}, {@code
 *       /_emulator/gcs/faults}: the emulator's own counters and fault flags.
 * </ul>
 *
 * <p>64-bit numbers are JSON strings; errors are Google's body. Object names in paths are
 * percent-encoded ({@code /} as {@code %2F}).
 */
public final class GcsHandler implements HttpHandler {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Pattern CONTENT_RANGE =
      Pattern.compile("bytes (?:(\\d+)-(\\d+)|\\*)/(\\d+|\\*)");
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");
  private static final int MAX_BATCH_BYTES = 32 << 20;
  private static final int DEFAULT_PAGE = 1000;

  private final GcsStore store;
  private final Supplier<String> baseUrl;
  private final boolean verbose;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();

  /**
   * @param baseUrl the emulator's {@code http://HOST:PORT}, for links and session URLs when a
   *     request has no {@code Host} header
   */
  public GcsHandler(GcsStore store, Supplier<String> baseUrl, boolean verbose) {
    this.store = store;
    this.baseUrl = baseUrl;
    this.verbose = verbose;
  }

  /** True for the paths this handler serves (for the emulator's router). */
  public static boolean serves(String path) {
    return path.startsWith("/storage/v1/")
        || path.startsWith("/upload/storage/v1/")
        || path.startsWith("/download/storage/v1/")
        || path.equals("/batch/storage/v1")
        || path.startsWith("/_emulator/gcs/");
  }

  // --- one request, independent of the transport (HTTP exchange or a batch part) -------------

  /** A request: the raw path (object names still percent-encoded), decoded query, headers. */
  private record Req(
      String method, String rawPath, Map<String, String> query, Headers headers, InputStream body, String base) {
    String q(String name) {
      return query.get(name);
    }

    String header(String name) {
      return headers.getFirst(name);
    }
  }

  /** A reply: status, headers, and a body of bytes or a byte range of a file. */
  private static final class Reply {
    final int code;
    final Map<String, String> headers = new LinkedHashMap<>();
    byte[] body = new byte[0];
    FileChannel file;
    long start;
    long length;
    boolean drop;

    Reply(int code) {
      this.code = code;
    }

    Reply header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    static Reply json(int code, byte[] json) {
      Reply r = new Reply(code).header("Content-Type", "application/json; charset=UTF-8");
      r.body = json;
      return r;
    }
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String rawPath = ex.getRequestURI().getRawPath();
    Reply reply;
    try {
      String host = ex.getRequestHeaders().getFirst("Host");
      String base = host == null ? baseUrl.get() : "http://" + host;
      InputStream body = ex.getRequestBody();
      if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
        body = new GZIPInputStream(body);
      }
      Req req = new Req(method, rawPath, query(ex.getRequestURI().getRawQuery()), ex.getRequestHeaders(), body, base);
      reply = dispatch(req, true);
    } catch (IOException e) {
      reply = error(new GcsException(400, "invalid", "Could not read the request: " + e.getMessage()));
    }
    try {
      send(ex, reply);
    } finally {
      if (verbose) {
        System.err.println("[gemini-emulator] gcs " + method + " " + ex.getRequestURI().getPath() + " -> " + reply.code);
      }
      ex.close();
    }
  }

  private Reply dispatch(Req req, boolean topLevel) {
    try {
      if (req.rawPath().startsWith("/_emulator/gcs/")) {
        return control(req);
      }
      if (topLevel && store.rollUnavailable()) {
        store.count("storage.fault.unavailable");
        drain(req.body());
        return error(new GcsException(503, "backendError", "We encountered an internal error. Please try again."));
      }
      return route(req);
    } catch (GcsException e) {
      drainQuietly(req.body());
      return error(e);
    } catch (IOException | RuntimeException e) {
      drainQuietly(req.body());
      return error(new GcsException(500, "backendError", "Internal error in the emulator: " + e));
    }
  }

  private Reply route(Req req) throws IOException {
    String p = req.rawPath();
    String m = req.method();
    if (p.equals("/batch/storage/v1")) {
      store.count("storage.batch");
      return batch(req);
    }
    if (p.startsWith("/upload/storage/v1/")) {
      List<String> s = segments(p.substring("/upload/storage/v1".length()));
      if (s.size() == 3 && s.get(0).equals("b") && s.get(2).equals("o")) {
        return upload(req, s.get(1));
      }
      throw notFound(req);
    }
    boolean download = p.startsWith("/download/storage/v1/");
    String rest = p.substring(download ? "/download/storage/v1".length() : "/storage/v1".length());
    List<String> s = segments(rest);
    if (s.isEmpty() || !s.get(0).equals("b")) {
      throw notFound(req);
    }
    if (s.size() == 1) {
      return m.equals("POST") ? insertBucket(req) : listBuckets(req);
    }
    String bucket = s.get(1);
    if (s.size() == 2) {
      check(bucket, "storage.buckets.get", "bucket");
      if (m.equals("DELETE")) {
        store.count("storage.buckets.delete");
        store.deleteBucket(bucket);
        return new Reply(204);
      }
      store.count("storage.buckets.get");
      return Reply.json(200, bucketJson(req.base(), store.bucketInfo(bucket)));
    }
    if (!s.get(2).equals("o")) {
      throw notFound(req);
    }
    if (s.size() == 3) {
      check(bucket, "storage.objects.list", "bucket");
      return listObjects(req, bucket);
    }
    // Object names with raw slashes: everything up to a known verb is the name.
    int verb = -1;
    for (int i = 4; i < s.size(); i++) {
      String v = s.get(i);
      if ((v.equals("rewriteTo") || v.equals("copyTo")) && s.size() == i + 5
          && s.get(i + 1).equals("b") && s.get(i + 3).equals("o")) {
        verb = i;
        break;
      }
      if (v.equals("compose") && i == s.size() - 1 && m.equals("POST")) {
        verb = i;
        break;
      }
    }
    String name = String.join("/", s.subList(3, verb < 0 ? s.size() : verb));
    if (verb >= 0) {
      String v = s.get(verb);
      if (v.equals("compose")) {
        check(bucket, "storage.objects.create", "bucket");
        return compose(req, bucket, name);
      }
      check(bucket, "storage.objects.get", "object");
      check(s.get(verb + 2), "storage.objects.create", "bucket");
      return copy(req, bucket, name, s.get(verb + 2), s.get(verb + 4), v.equals("rewriteTo"));
    }
    switch (m) {
      case "GET":
      case "HEAD":
        check(bucket, "storage.objects.get", "object");
        if (download || "media".equals(req.q("alt"))) {
          return download(req, bucket, name);
        }
        store.count("storage.objects.get");
        GcsObject o = store.get(bucket, name);
        Long gen = longParam(req, "generation");
        if (gen != null && gen != o.generation()) {
          throw GcsException.noSuchObject(bucket, name);
        }
        preconditions(req, "").check(o);
        return Reply.json(200, objectJson(req.base(), o));
      case "DELETE":
        check(bucket, "storage.objects.delete", "object");
        store.count("storage.objects.delete");
        store.deleteObject(bucket, name, preconditions(req, ""));
        return new Reply(204);
      case "PATCH":
      case "PUT":
        check(bucket, "storage.objects.update", "object");
        store.count("storage.objects.patch");
        return patch(req, bucket, name);
      default:
        throw notFound(req);
    }
  }

  /** 403 when the bucket is denied (see {@link GcsStore#denyAccess(String)}). */
  private void check(String bucket, String permission, String resource) {
    if (store.isDenied(bucket)) {
      throw GcsException.denied(permission, resource);
    }
  }

  // --- buckets -----------------------------------------------------------------------------

  private Reply insertBucket(Req req) throws IOException {
    store.count("storage.buckets.insert");
    JsonNode body = readJson(req.body());
    String name = body.path("name").asText(null);
    if (name == null) {
      throw GcsException.invalid("Required parameter: name");
    }
    check(name, "storage.buckets.create", "bucket");
    return Reply.json(200, bucketJson(req.base(), store.createBucket(name)));
  }

  private Reply listBuckets(Req req) throws IOException {
    store.count("storage.buckets.list");
    return Reply.json(
        200,
        json(
            g -> {
              g.writeStringField("kind", "storage#buckets");
              List<GcsStore.GcsBucket> all = store.listBuckets();
              if (!all.isEmpty()) {
                g.writeArrayFieldStart("items");
                for (GcsStore.GcsBucket b : all) {
                  g.writeRawValue(new String(bucketJson(req.base(), b), StandardCharsets.UTF_8));
                }
                g.writeEndArray();
              }
            }));
  }

  private byte[] bucketJson(String base, GcsStore.GcsBucket b) throws IOException {
    long gen = store.bucketGeneration(b.name());
    return json(
        g -> {
          g.writeStringField("kind", "storage#bucket");
          g.writeStringField("id", b.name());
          g.writeStringField("selfLink", base + "/storage/v1/b/" + encode(b.name()));
          g.writeStringField("projectNumber", "0");
          g.writeStringField("name", b.name());
          g.writeStringField("timeCreated", time(b.timeCreated()));
          g.writeStringField("updated", time(b.timeCreated()));
          g.writeStringField("metageneration", "1");
          g.writeStringField("generation", Long.toString(gen));
          g.writeStringField("location", "US");
          g.writeStringField("locationType", "multi-region");
          g.writeStringField("storageClass", "STANDARD");
          g.writeStringField("etag", "CAE=");
        });
  }

  // --- objects -----------------------------------------------------------------------------

  private Reply listObjects(Req req, String bucket) throws IOException {
    store.count("storage.objects.list");
    int max = DEFAULT_PAGE;
    String mr = req.q("maxResults");
    if (mr != null) {
      try {
        max = Integer.parseInt(mr);
      } catch (NumberFormatException e) {
        max = -1;
      }
      if (max < 1) {
        throw GcsException.invalid("Invalid unsigned integer value: '" + mr + "'.");
      }
      max = Math.min(max, DEFAULT_PAGE);
    }
    if (req.q("matchGlob") != null) {
      throw GcsException.invalid("The emulator does not support matchGlob on objects.list.");
    }
    GcsStore.Page page = store.list(bucket, req.q("prefix"), req.q("delimiter"), req.q("pageToken"), max);
    return Reply.json(
        200,
        json(
            g -> {
              g.writeStringField("kind", "storage#objects");
              if (page.nextPageToken() != null) {
                g.writeStringField("nextPageToken", page.nextPageToken());
              }
              if (!page.prefixes().isEmpty()) {
                g.writeArrayFieldStart("prefixes");
                for (String pr : page.prefixes()) {
                  g.writeString(pr);
                }
                g.writeEndArray();
              }
              if (!page.items().isEmpty()) {
                g.writeArrayFieldStart("items");
                for (GcsObject o : page.items()) {
                  g.writeRawValue(new String(objectJson(req.base(), o), StandardCharsets.UTF_8));
                }
                g.writeEndArray();
              }
            }));
  }

  private Reply patch(Req req, String bucket, String name) throws IOException {
    JsonNode body = readJson(req.body());
    Map<String, String> metadata = new HashMap<>();
    if (req.method().equals("PATCH")) {
      metadata.putAll(store.get(bucket, name).metadata());
    }
    JsonNode md = body.path("metadata");
    for (Iterator<Map.Entry<String, JsonNode>> it = md.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNull()) {
        metadata.remove(e.getKey());
      } else {
        metadata.put(e.getKey(), e.getValue().asText());
      }
    }
    GcsObject o = store.updateMetadata(bucket, name, metadata, preconditions(req, ""));
    return Reply.json(200, objectJson(req.base(), o));
  }

  private Reply copy(Req req, String sb, String sn, String db, String dn, boolean rewrite)
      throws IOException {
    store.count(rewrite ? "storage.objects.rewrite" : "storage.objects.copy");
    JsonNode body = readJson(req.body());
    GcsObject src = store.get(sb, sn);
    preconditions(req, "Source").check(src);
    GcsObject o =
        store.copy(sb, sn, longParam(req, "sourceGeneration"), db, dn, writeOptions(body, req, null));
    byte[] resource = objectJson(req.base(), o);
    if (!rewrite) {
      return Reply.json(200, resource);
    }
    return Reply.json(
        200,
        json(
            g -> {
              g.writeStringField("kind", "storage#rewriteResponse");
              g.writeStringField("totalBytesRewritten", Long.toString(o.size()));
              g.writeStringField("objectSize", Long.toString(o.size()));
              g.writeBooleanField("done", true);
              g.writeFieldName("resource");
              g.writeRawValue(new String(resource, StandardCharsets.UTF_8));
            }));
  }

  private Reply compose(Req req, String bucket, String name) throws IOException {
    store.count("storage.objects.compose");
    JsonNode body = readJson(req.body());
    List<String> sources = new ArrayList<>();
    List<Long> generations = new ArrayList<>();
    for (JsonNode s : body.path("sourceObjects")) {
      String n = s.path("name").asText(null);
      if (n == null) {
        throw GcsException.invalid("Required field: sourceObjects[].name");
      }
      Long gen = s.hasNonNull("generation") ? s.get("generation").asLong() : null;
      JsonNode pre = s.path("objectPreconditions").path("ifGenerationMatch");
      if (!pre.isMissingNode() && !pre.isNull()) {
        GcsObject cur = store.get(bucket, n);
        if (cur.generation() != pre.asLong()) {
          throw GcsException.preconditionFailed();
        }
      }
      sources.add(n);
      generations.add(gen);
    }
    GcsObject o =
        store.compose(bucket, sources, generations, name, writeOptions(body.path("destination"), req, null));
    return Reply.json(200, objectJson(req.base(), o));
  }

  // --- uploads -----------------------------------------------------------------------------

  /** A resumable upload: where its bytes go, how many arrived, and what to write at the end. */
  private static final class Session {
    final String bucket;
    final String name;
    final GcsStore.WriteOptions options;
    final JsonNode declared;
    final Path file;
    long received;
    GcsObject result;

    Session(String bucket, String name, GcsStore.WriteOptions options, JsonNode declared, Path file) {
      this.bucket = bucket;
      this.name = name;
      this.options = options;
      this.declared = declared;
      this.file = file;
    }
  }

  private Reply upload(Req req, String bucket) throws IOException {
    String uploadId = req.q("upload_id");
    if (uploadId != null) {
      return uploadChunk(req, uploadId);
    }
    String type = req.q("uploadType");
    check(bucket, "storage.objects.create", "bucket");
    store.count("storage.objects.insert");
    store.bucket(bucket);
    if ("multipart".equals(type)) {
      return multipartUpload(req, bucket);
    }
    if ("media".equals(type)) {
      String name = req.q("name");
      if (name == null) {
        throw GcsException.invalid("Required parameter: name");
      }
      GcsStore.Staged staged = store.stage(req.body());
      GcsObject o =
          store.commit(
              bucket, name, staged,
              new GcsStore.WriteOptions(
                  mediaType(req.header("Content-Type")), req.q("contentEncoding"), Map.of(), preconditions(req, "")));
      return Reply.json(200, objectJson(req.base(), o));
    }
    if ("resumable".equals(type)) {
      JsonNode meta = readJson(req.body());
      String name = meta.path("name").asText(req.q("name"));
      if (name == null) {
        throw GcsException.invalid("Required parameter: name");
      }
      String id = UUID.randomUUID().toString().replace("-", "");
      Session s =
          new Session(
              bucket, name, writeOptions(meta, req, req.header("X-Upload-Content-Type")), meta,
              store.newTempFile());
      sessions.put(id, s);
      String location =
          req.base() + "/upload/storage/v1/b/" + encode(bucket) + "/o?uploadType=resumable&name="
              + encode(name) + "&upload_id=" + id;
      return new Reply(200).header("Location", location).header("X-GUploader-UploadID", id);
    }
    throw GcsException.invalid(
        "Invalid or missing uploadType '" + type + "': use media, multipart or resumable.");
  }

  private Reply multipartUpload(Req req, String bucket) throws IOException {
    String boundary = MultipartStream.boundary(req.header("Content-Type"));
    if (boundary == null) {
      throw GcsException.invalid("A multipart upload needs Content-Type: multipart/related; boundary=...");
    }
    MultipartStream parts = new MultipartStream(req.body(), boundary);
    if (parts.nextPart() == null) {
      throw GcsException.invalid("The multipart upload has no metadata part.");
    }
    JsonNode meta = readJson(parts.body());
    Map<String, String> mediaHeaders = parts.nextPart();
    if (mediaHeaders == null) {
      throw GcsException.invalid("The multipart upload has no media part.");
    }
    GcsStore.Staged staged = store.stage(parts.body());
    String name = meta.path("name").asText(req.q("name"));
    if (name == null) {
      Files.deleteIfExists(staged.file());
      throw GcsException.invalid("Required parameter: name");
    }
    drain(req.body());
    return commitUpload(req, bucket, name, staged, meta, writeOptions(meta, req, mediaType(mediaHeaders.get("content-type"))));
  }

  private Reply commitUpload(
      Req req, String bucket, String name, GcsStore.Staged staged, JsonNode meta, GcsStore.WriteOptions o)
      throws IOException {
    GcsObject probe =
        new GcsObject(bucket, name, 0, 0, staged.size(), "", null, staged.md5(), staged.crc32c(),
            Instant.EPOCH, Instant.EPOCH, Map.of(), staged.file());
    String crc = meta.path("crc32c").asText(null);
    String md5 = meta.path("md5Hash").asText(null);
    if (crc != null && !crc.equals(probe.crc32cBase64())) {
      Files.deleteIfExists(staged.file());
      throw GcsException.invalid(
          "Provided CRC32C \"" + crc + "\" doesn't match calculated CRC32C \"" + probe.crc32cBase64() + "\".");
    }
    if (md5 != null && !md5.equals(probe.md5Base64())) {
      Files.deleteIfExists(staged.file());
      throw GcsException.invalid(
          "Provided MD5 hash \"" + md5 + "\" doesn't match calculated MD5 hash \"" + probe.md5Base64() + "\".");
    }
    GcsObject stored = store.commit(bucket, name, staged, o);
    return Reply.json(200, objectJson(req.base(), stored));
  }

  private Reply uploadChunk(Req req, String uploadId) throws IOException {
    Session s = sessions.get(uploadId);
    if (s == null) {
      store.count("storage.objects.insert.chunk");
      throw new GcsException(404, "notFound", "No such upload session: " + uploadId);
    }
    String cr = req.header("Content-Range");
    store.count(cr != null && cr.trim().startsWith("bytes */") ? "storage.objects.insert.query" : "storage.objects.insert.chunk");
    synchronized (s) {
      if (s.result != null) {
        drain(req.body());
        return Reply.json(200, objectJson(req.base(), s.result));
      }
      long first = -1;
      long last = -1;
      long total = -1;
      if (cr == null) {
        first = s.received; // a single request with the whole rest of the content
      } else {
        Matcher m = CONTENT_RANGE.matcher(cr.trim());
        if (!m.matches()) {
          drain(req.body());
          throw GcsException.invalid("Invalid Content-Range header: '" + cr + "'");
        }
        if (m.group(1) != null) {
          first = Long.parseLong(m.group(1));
          last = Long.parseLong(m.group(2));
        }
        total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
      }
      if (first >= 0) {
        if (first > s.received) {
          drain(req.body());
          throw GcsException.invalid(
              "Invalid request. According to the Content-Range header, the upload offset is " + first
                  + " byte(s), which exceeds already uploaded size of " + s.received + " byte(s).");
        }
        long skip = s.received - first;
        long appended = append(s, req.body(), skip);
        if (last >= 0 && appended + skip != last - first + 1) {
          throw GcsException.invalid(
              "Invalid request. The Content-Range header says " + (last - first + 1)
                  + " byte(s) but the body has " + (appended + skip) + ".");
        }
        if (cr == null) {
          total = s.received;
        }
      } else {
        drain(req.body());
      }
      if (total >= 0) {
        if (s.received != total) {
          if (s.received > total) {
            throw GcsException.invalid("Invalid request: " + s.received + " byte(s) received for a total of " + total + ".");
          }
          return resumeIncomplete(s);
        }
        GcsStore.Staged staged = GcsStore.staged(s.file);
        Reply r = commitUpload(req, s.bucket, s.name, staged, s.declared, s.options);
        s.result = store.get(s.bucket, s.name);
        return r;
      }
      return resumeIncomplete(s);
    }
  }

  private static Reply resumeIncomplete(Session s) {
    Reply r = new Reply(308);
    if (s.received > 0) {
      r.header("Range", "bytes=0-" + (s.received - 1));
    }
    r.header("X-Http-Status-Code-Override", "308");
    return r;
  }

  /** Appends the body to the session's file, dropping its first {@code skip} bytes (a resend). */
  private static long append(Session s, InputStream body, long skip) throws IOException {
    long n = 0;
    try (OutputStream out = Files.newOutputStream(s.file, StandardOpenOption.APPEND)) {
      byte[] buf = new byte[1 << 16];
      int r;
      long toSkip = skip;
      while ((r = body.read(buf)) > 0) {
        int off = (int) Math.min(toSkip, r);
        toSkip -= off;
        out.write(buf, off, r - off);
        n += r - off;
      }
    }
    s.received += n;
    return n;
  }

  // --- downloads ---------------------------------------------------------------------------

  private Reply download(Req req, String bucket, String name) throws IOException {
    store.count("storage.objects.download");
    GcsStore.Opened opened = store.open(bucket, name, longParam(req, "generation"));
    GcsObject o = opened.object();
    try {
      preconditions(req, "").check(o);
      long start = 0;
      long end = o.size() - 1;
      Reply r;
      String range = req.header("Range");
      Matcher m = range == null ? null : RANGE.matcher(range.trim());
      if (m != null && m.matches() && !(m.group(1).isEmpty() && m.group(2).isEmpty())) {
        if (m.group(1).isEmpty()) {
          start = Math.max(0, o.size() - Long.parseLong(m.group(2)));
        } else {
          start = Long.parseLong(m.group(1));
          if (!m.group(2).isEmpty()) {
            end = Math.min(end, Long.parseLong(m.group(2)));
          }
        }
        if (start >= o.size() || start > end) {
          opened.channel().close();
          Reply e = error(new GcsException(416, "requestedRangeNotSatisfiable", "Request range not satisfiable"));
          e.header("Content-Range", "bytes */" + o.size());
          return e;
        }
        r = new Reply(206).header("Content-Range", "bytes " + start + "-" + end + "/" + o.size());
      } else {
        r = new Reply(200);
      }
      r.header("Content-Type", o.contentType())
          .header("Accept-Ranges", "bytes")
          .header("ETag", etag(o))
          .header("x-goog-generation", Long.toString(o.generation()))
          .header("x-goog-metageneration", Long.toString(o.metageneration()))
          .header("x-goog-stored-content-length", Long.toString(o.size()))
          .header("x-goog-stored-content-encoding", o.contentEncoding() == null ? "identity" : o.contentEncoding())
          .header("x-goog-hash", "crc32c=" + o.crc32cBase64() + ",md5=" + o.md5Base64());
      r.file = opened.channel();
      r.start = start;
      r.length = end - start + 1;
      r.drop = req.method().equals("GET") && store.rollDropDownload();
      if (r.drop) {
        store.count("storage.fault.dropDownload");
      }
      if (req.method().equals("HEAD")) {
        r.length = 0;
      }
      return r;
    } catch (RuntimeException e) {
      opened.channel().close();
      throw e;
    }
  }

  // --- the batch endpoint --------------------------------------------------------------------

  private Reply batch(Req req) throws IOException {
    String boundary = MultipartStream.boundary(req.header("Content-Type"));
    if (boundary == null) {
      throw GcsException.invalid("A batch request needs Content-Type: multipart/mixed; boundary=...");
    }
    MultipartStream parts = new MultipartStream(req.body(), boundary);
    String out = "batch_" + UUID.randomUUID().toString().replace("-", "");
    ByteArrayOutputStream reply = new ByteArrayOutputStream();
    Map<String, String> partHeaders;
    int n = 0;
    long total = 0;
    while ((partHeaders = parts.nextPart()) != null) {
      byte[] part = parts.body().readAllBytes();
      total += part.length;
      if (total > MAX_BATCH_BYTES || ++n > 1000) {
        throw GcsException.invalid("The batch request is too large (at most 1000 parts and 32 MiB).");
      }
      Reply r = dispatch(embedded(part, req.base()), false);
      String id = partHeaders.get("content-id");
      String responseId = id == null ? null : "<response-" + id.replaceAll("^<|>$", "") + ">";
      StringBuilder head = new StringBuilder();
      head.append("--").append(out).append("\r\n");
      head.append("Content-Type: application/http\r\n");
      if (responseId != null) {
        head.append("Content-ID: ").append(responseId).append("\r\n");
      }
      head.append("\r\n");
      byte[] body = bodyBytes(r);
      head.append("HTTP/1.1 ").append(r.code).append(' ').append(statusText(r.code)).append("\r\n");
      r.headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
      head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
      reply.write(head.toString().getBytes(StandardCharsets.UTF_8));
      reply.write(body);
      reply.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    reply.write(("--" + out + "--\r\n").getBytes(StandardCharsets.UTF_8));
    Reply r = new Reply(200).header("Content-Type", "multipart/mixed; boundary=" + out);
    r.body = reply.toByteArray();
    return r;
  }

  /** Parses one batch part: {@code METHOD URL HTTP/1.1}, headers, blank line, body. */
  private static Req embedded(byte[] part, String base) throws IOException {
    InputStream in = new ByteArrayInputStream(part);
    String requestLine = MultipartStream.readLine(in);
    String[] words = requestLine.trim().split(" ");
    if (words.length < 2) {
      throw GcsException.invalid("Malformed request line in a batch part: '" + requestLine + "'");
    }
    URI uri = URI.create(words[1]);
    Headers headers = new Headers();
    String line;
    while (!(line = MultipartStream.readLine(in)).isEmpty()) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        headers.add(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
      }
    }
    byte[] body = in.readAllBytes();
    String cl = headers.getFirst("Content-Length");
    if (cl != null) {
      int len = Integer.parseInt(cl.trim());
      if (len < body.length) {
        body = java.util.Arrays.copyOf(body, len);
      }
    }
    return new Req(words[0], uri.getRawPath(), query(uri.getRawQuery()), headers, new ByteArrayInputStream(body), base);
  }

  private static byte[] bodyBytes(Reply r) throws IOException {
    if (r.file == null) {
      return r.body;
    }
    try (FileChannel ch = r.file) {
      ByteBuffer bb = ByteBuffer.allocate((int) r.length);
      while (bb.hasRemaining() && ch.read(bb, r.start + bb.position()) > 0) {
        // read on
      }
      return bb.array();
    }
  }

  // --- the emulator's own endpoints --------------------------------------------------------

  private Reply control(Req req) throws IOException {
    switch (req.method() + " " + req.rawPath()) {
      case "GET /_emulator/gcs/stats":
        return Reply.json(200, statsJson());
      case "POST /_emulator/gcs/reset-stats":
        store.resetStats();
        return Reply.json(200, statsJson());
      case "GET /_emulator/gcs/faults":
        return Reply.json(200, faultsJson());
      case "POST /_emulator/gcs/faults":
        JsonNode body = readJson(req.body());
        GcsFaults f = store.faults();
        try {
          if (body.has("unavailableRate")) {
            f = f.withUnavailableRate(body.get("unavailableRate").asDouble());
          }
          if (body.has("dropDownloadRate")) {
            f = f.withDropDownloadRate(body.get("dropDownloadRate").asDouble());
          }
        } catch (IllegalArgumentException e) {
          throw GcsException.invalid(e.getMessage());
        }
        store.setFaults(f);
        return Reply.json(200, faultsJson());
      default:
        throw new GcsException(
            404, "notFound",
            "Unknown emulator endpoint " + req.method() + " " + req.rawPath()
                + " (GET /_emulator/gcs/stats, POST /_emulator/gcs/reset-stats, GET|POST /_emulator/gcs/faults).");
    }
  }

  private byte[] statsJson() throws IOException {
    return json(
        g -> {
          g.writeObjectFieldStart("callsByEndpoint");
          for (Map.Entry<String, Long> e : store.calls().entrySet()) {
            g.writeNumberField(e.getKey(), e.getValue());
          }
          g.writeEndObject();
        });
  }

  private byte[] faultsJson() throws IOException {
    GcsFaults f = store.faults();
    return json(
        g -> {
          g.writeNumberField("unavailableRate", f.unavailableRate());
          g.writeNumberField("dropDownloadRate", f.dropDownloadRate());
        });
  }

  // --- JSON ----------------------------------------------------------------------------------

  @FunctionalInterface
  private interface Fields {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] json(Fields fields) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      fields.write(g);
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  /** The object resource; int64 fields as strings. */
  static byte[] objectJson(String base, GcsObject o) throws IOException {
    String path = "b/" + encode(o.bucket()) + "/o/" + encode(o.name());
    return json(
        g -> {
          g.writeStringField("kind", "storage#object");
          g.writeStringField("id", o.bucket() + "/" + o.name() + "/" + o.generation());
          g.writeStringField("selfLink", base + "/storage/v1/" + path);
          g.writeStringField(
              "mediaLink", base + "/download/storage/v1/" + path + "?generation=" + o.generation() + "&alt=media");
          g.writeStringField("name", o.name());
          g.writeStringField("bucket", o.bucket());
          g.writeStringField("generation", Long.toString(o.generation()));
          g.writeStringField("metageneration", Long.toString(o.metageneration()));
          g.writeStringField("contentType", o.contentType());
          if (o.contentEncoding() != null) {
            g.writeStringField("contentEncoding", o.contentEncoding());
          }
          g.writeStringField("storageClass", "STANDARD");
          g.writeStringField("size", Long.toString(o.size()));
          g.writeStringField("md5Hash", o.md5Base64());
          g.writeStringField("crc32c", o.crc32cBase64());
          g.writeStringField("etag", etag(o));
          g.writeStringField("timeCreated", time(o.timeCreated()));
          g.writeStringField("updated", time(o.updated()));
          g.writeStringField("timeStorageClassUpdated", time(o.timeCreated()));
          if (!o.metadata().isEmpty()) {
            g.writeObjectFieldStart("metadata");
            for (Map.Entry<String, String> e : new java.util.TreeMap<>(o.metadata()).entrySet()) {
              g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
          }
        });
  }

  private static String etag(GcsObject o) {
    return Base64.getEncoder()
        .encodeToString((o.generation() + "/" + o.metageneration()).getBytes(StandardCharsets.US_ASCII));
  }

  private static String time(Instant t) {
    return DateTimeFormatter.ISO_INSTANT.format(t);
  }

  static Reply error(GcsException e) {
    try {
      Reply r =
          Reply.json(
              e.httpCode(),
              json(
                  g -> {
                    g.writeObjectFieldStart("error");
                    g.writeNumberField("code", e.httpCode());
                    g.writeStringField("message", e.getMessage());
                    g.writeArrayFieldStart("errors");
                    g.writeStartObject();
                    g.writeStringField("message", e.getMessage());
                    g.writeStringField("domain", "global");
                    g.writeStringField("reason", e.reason());
                    g.writeEndObject();
                    g.writeEndArray();
                    g.writeEndObject();
                  }));
      if (e.httpCode() == 503) {
        r.header("Retry-After", "1");
      }
      return r;
    } catch (IOException io) {
      throw new IllegalStateException(io);
    }
  }

  // --- request helpers ---------------------------------------------------------------------

  /** Destination metadata from a JSON body, falling back to query and a given content type. */
  private GcsStore.WriteOptions writeOptions(JsonNode meta, Req req, String fallbackType) {
    Map<String, String> metadata = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = meta.path("metadata").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isNull()) {
        metadata.put(e.getKey(), e.getValue().asText());
      }
    }
    String type = meta.path("contentType").asText(null);
    String encoding = meta.path("contentEncoding").asText(req.q("contentEncoding"));
    return new GcsStore.WriteOptions(
        type != null ? type : fallbackType, encoding, metadata, preconditions(req, ""));
  }

  /** {@code if<Source>GenerationMatch} etc. from the query. */
  private static GcsPreconditions preconditions(Req req, String source) {
    return new GcsPreconditions(
        longParam(req, "if" + source + "GenerationMatch"),
        longParam(req, "if" + source + "GenerationNotMatch"),
        longParam(req, "if" + source + "MetagenerationMatch"),
        longParam(req, "if" + source + "MetagenerationNotMatch"));
  }

  private static Long longParam(Req req, String name) {
    String v = req.q(name);
    if (v == null || v.isEmpty()) {
      return null;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw GcsException.invalid("Invalid value for " + name + ": '" + v + "'");
    }
  }

  private static JsonNode readJson(InputStream in) throws IOException {
    byte[] bytes = in.readAllBytes();
    if (bytes.length == 0) {
      return MAPPER.createObjectNode();
    }
    try {
      JsonNode n = MAPPER.readTree(bytes);
      return n == null || n instanceof NullNode ? MAPPER.createObjectNode() : n;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw GcsException.invalid("Parse Error: the request body is not JSON (" + e.getOriginalMessage() + ")");
    }
  }

  private static String mediaType(String contentType) {
    return contentType == null || contentType.isBlank() ? "application/octet-stream" : contentType.trim();
  }

  private static GcsException notFound(Req req) {
    return new GcsException(404, "notFound", "Not Found: " + req.method() + " " + req.rawPath());
  }

  private static List<String> segments(String rawPath) {
    List<String> out = new ArrayList<>();
    for (String s : rawPath.split("/")) {
      if (!s.isEmpty()) {
        out.add(decode(s));
      }
    }
    return out;
  }

  static Map<String, String> query(String rawQuery) {
    Map<String, String> q = new HashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return q;
    }
    for (String kv : rawQuery.split("&")) {
      int eq = kv.indexOf('=');
      String k = eq < 0 ? kv : kv.substring(0, eq);
      String v = eq < 0 ? "" : kv.substring(eq + 1);
      q.putIfAbsent(decode(k.replace('+', ' ')), decode(v.replace('+', ' ')));
    }
    return q;
  }

  /** Percent-decoding ({@code +} stays a plus: in a path it is one). */
  static String decode(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' && i + 2 < s.length()) {
        out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
        i += 2;
      } else {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Percent-encodes a path segment or query value (everything but unreserved characters). */
  static String encode(String s) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == '~') {
        sb.append(c);
      } else {
        sb.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  private static void drain(InputStream in) throws IOException {
    in.transferTo(OutputStream.nullOutputStream());
  }

  private static void drainQuietly(InputStream in) {
    try {
      drain(in);
    } catch (IOException | RuntimeException e) {
      // the client went away; nothing to answer
    }
  }

  private static String statusText(int code) {
    switch (code) {
      case 200: return "OK";
      case 204: return "No Content";
      case 206: return "Partial Content";
      case 308: return "Resume Incomplete";
      case 400: return "Bad Request";
      case 403: return "Forbidden";
      case 404: return "Not Found";
      case 409: return "Conflict";
      case 412: return "Precondition Failed";
      case 416: return "Requested Range Not Satisfiable";
      case 503: return "Service Unavailable";
      default: return "Status";
    }
  }

  // --- sending -------------------------------------------------------------------------------

  private void send(HttpExchange ex, Reply r) throws IOException {
    r.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
    if (r.file == null) {
      boolean noBody = r.code == 204 || r.code == 304 || r.body.length == 0 || ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(r.code, noBody ? -1 : r.body.length);
      if (!noBody) {
        ex.getResponseBody().write(r.body);
      }
      return;
    }
    try (FileChannel ch = r.file) {
      if (r.length == 0) {
        ex.sendResponseHeaders(r.code, -1);
        return;
      }
      ex.sendResponseHeaders(r.code, r.length);
      long toSend = r.drop ? r.length / 2 : r.length;
      OutputStream out = ex.getResponseBody();
      byte[] buf = new byte[1 << 16];
      ByteBuffer bb = ByteBuffer.wrap(buf);
      long sent = 0;
      while (sent < toSend) {
        bb.clear().limit((int) Math.min(buf.length, toSend - sent));
        int n = ch.read(bb, r.start + sent);
        if (n <= 0) {
          throw new IOException("object shrank while downloading");
        }
        out.write(buf, 0, n);
        sent += n;
      }
      out.flush();
    }
    if (r.drop) {
      // The JDK server closes the connection of a handler that throws mid-body.
      throw new IOException("download dropped after half its body (injected fault)");
    }
  }
}
