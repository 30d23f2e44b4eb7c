package io.geminibatch.testing.webhooks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.geminibatch.testing.ApiError;
import io.geminibatch.testing.QueryString;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Gemini API's webhooks (WebhookService): the REST resource under {@code /v1beta/webhooks}
 * and {@code /v1/webhooks} as Google's SDKs call it (snake_case JSON), and the deliveries of batch
 * events, to the registered webhooks and to the URIs of a batch's own {@code webhookConfig}.
 *
 * <p>Endpoints (the shapes of {@code @google/genai} 3.1.0's {@code ai.webhooks}):
 *
 * <ul>
 *   <li>{@code POST /{v}/webhooks} {@code {"name"?, "uri", "subscribed_events": [...]}} → the
 *       Webhook, with its {@code new_signing_secret} ({@code whsec_} + base64 of 32 random bytes),
 *       shown in this reply only.
 *   <li>{@code GET /{v}/webhooks?page_size=&page_token=} → {@code {"webhooks": [...],
 *       "next_page_token"?}}, oldest first; page size 50 by default, at most 1000.
 *   <li>{@code GET|PATCH|DELETE /{v}/webhooks/{id}}; PATCH takes {@code ?update_mask=} (field
 *       names, comma-separated; without it, the fields present in the body) over {@code name},
 *       {@code uri}, {@code subscribed_events}, {@code state} ({@code enabled|disabled}).
 *   <li>{@code POST /{v}/webhooks/{id}:ping} → {@code {}}, and a signed {@code webhook.ping} event
 *       to the webhook's URI.
 *   <li>{@code POST /{v}/webhooks/{id}:rotateSigningSecret} {@code {"revocation_behavior":
 *       "revoke_previous_secrets_after_h24"|"revoke_previous_secrets_immediately"}} → {@code
 *       {"secret"}}; until they expire, the previous secrets stay valid and every delivery carries
 *       one signature per valid secret.
 * </ul>
 *
 * <p>Webhooks belong to the API key that created them (the emulator's stand-in for a project).
 * Deliveries are described in {@link Deliveries}.
 */
public final class WebhookService implements AutoCloseable {
  /** The events a webhook may subscribe to (the SDK's list and the guide's additions). */
  public static final List<String> EVENTS =
      List.of(
          "batch.succeeded",
          "batch.cancelled",
          "batch.expired",
          "batch.failed",
          "interaction.requires_action",
          "interaction.completed",
          "interaction.failed",
          "interaction.cancelled",
          "video.generated");

  static final String ENABLED = "enabled";
  static final String DISABLED = "disabled";
  static final String DISABLED_FAILING = "disabled_due_to_failed_deliveries";

  private static final String V = "(v1beta|v1)";
  private static final Pattern CLAIMED = Pattern.compile("/" + V + "/webhooks(/.*)?");
  private static final Pattern COLLECTION = Pattern.compile("/" + V + "/webhooks");
  private static final Pattern ONE = Pattern.compile("/" + V + "/webhooks/([^/:]+)");
  private static final Pattern METHOD =
      Pattern.compile("/" + V + "/webhooks/([^/:]+):(ping|rotateSigningSecret)");
  private static final Set<String> UPDATABLE = Set.of("name", "uri", "subscribed_events", "state");
  private static final Set<String> OUTPUT_ONLY =
      Set.of("id", "create_time", "update_time", "signing_secrets", "new_signing_secret");
  static final ObjectMapper JSON = new ObjectMapper();

  /** Runs one API call inside the emulator's common envelope (count, key, faults, errors). */
  @FunctionalInterface
  public interface ApiServer {
    void serve(HttpExchange ex, String endpoint, Call call) throws IOException;
  }

  /** One API call, given the caller (the SHA-256 of its API key). */
  @FunctionalInterface
  public interface Call {
    void run(String owner) throws IOException;
  }

  /** A batch reached a terminal state. */
  public record BatchEnded(
      String owner,
      String batchName,
      /** SUCCEEDED, FAILED, CANCELLED or EXPIRED. */
      String state,
      /** {@code files/...} of a file-input job's results, or null. */
      String outputFile,
      int errorCode,
      String errorMessage,
      /** The batch's {@code webhookConfig.uris} (empty when it had none). */
      List<String> uris,
      /** The JSON object of its {@code webhookConfig.user_metadata}, or null. */
      String userMetadataJson) {}

  private final ApiServer server;
  private final Deliveries deliveries;
  private final ConcurrentHashMap<String, Hook> hooks = new ConcurrentHashMap<>();
  private final AtomicLong seq = new AtomicLong();

  public WebhookService(ApiServer server, Deliveries deliveries) {
    this.server = Objects.requireNonNull(server, "server");
    this.deliveries = Objects.requireNonNull(deliveries, "deliveries");
  }

  /** True for the paths this service answers. */
  public static boolean claims(String path) {
    return CLAIMED.matcher(path).matches();
  }

  /** The handler to register on the emulator's router for {@link #claims}. */
  public HttpHandler handler() {
    return this::handle;
  }

  public Deliveries deliveries() {
    return deliveries;
  }

  @Override
  public void close() {
    deliveries.close();
  }

  // --- events ----------------------------------------------------------------------------------

  /**
   * Delivers a batch's end: to the URIs of its {@code webhookConfig} if it had any (they are used
   * "instead of the registered webhooks", as the SDK documents), else to every enabled webhook of
   * its owner subscribed to the event.
   */
  public void batchEnded(BatchEnded e) {
    String type = "batch." + e.state().toLowerCase(Locale.ROOT);
    ObjectNode data = JSON.createObjectNode();
    data.put("id", e.batchName());
    if (e.state().equals("SUCCEEDED") && e.outputFile() != null) {
      data.put("output_file_uri", e.outputFile());
    }
    if (e.state().equals("FAILED")) {
      data.put("error_code", e.errorCode());
      data.put("error_message", e.errorMessage());
    }
    if (!e.uris().isEmpty()) {
      if (e.userMetadataJson() != null) {
        try {
          data.set("user_metadata", JSON.readTree(e.userMetadataJson()));
        } catch (JsonProcessingException x) {
          throw new IllegalStateException("user_metadata was validated as JSON", x);
        }
      }
      byte[] body = envelope(type, data);
      for (String uri : e.uris()) {
        deliveries.send(null, uri, body, false);
      }
      return;
    }
    byte[] body = envelope(type, data);
    for (Hook h : sorted(e.owner())) {
      boolean subscribed;
      synchronized (h) {
        subscribed = h.state.equals(ENABLED) && h.events.contains(type);
      }
      if (subscribed) {
        deliveries.send(h, h.uri(), body, true);
      }
    }
  }

  static byte[] envelope(String type, ObjectNode data) {
    ObjectNode n = JSON.createObjectNode();
    n.put("type", type);
    n.put("version", "v1");
    n.put("timestamp", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    n.set("data", data);
    try {
      return JSON.writeValueAsBytes(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  // --- routing ---------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String path = ex.getRequestURI().getPath();
    Map<String, String> query = QueryString.parse(ex.getRequestURI().getRawQuery());
    Matcher m;
    if ((m = METHOD.matcher(path)).matches()) {
      String id = m.group(2);
      boolean ping = m.group(3).equals("ping");
      String endpoint = ping ? "webhooks.ping" : "webhooks.rotateSigningSecret";
      if (!method.equals("POST")) {
        wrongMethod(ex, path, method, "POST");
      } else if (ping) {
        server.serve(ex, endpoint, owner -> ping(ex, owner, id));
      } else {
        server.serve(ex, endpoint, owner -> rotate(ex, owner, id));
      }
    } else if ((m = ONE.matcher(path)).matches()) {
      String id = m.group(2);
      switch (method) {
        case "GET" -> server.serve(ex, "webhooks.get", owner -> send(ex, write(get(owner, id), null)));
        case "PATCH" -> server.serve(ex, "webhooks.update", owner -> update(ex, owner, id, query));
        case "DELETE" -> server.serve(ex, "webhooks.delete", owner -> delete(ex, owner, id));
        default -> wrongMethod(ex, path, method, "GET, PATCH or DELETE");
      }
    } else if (COLLECTION.matcher(path).matches()) {
      switch (method) {
        case "GET" -> server.serve(ex, "webhooks.list", owner -> list(ex, owner, query));
        case "POST" -> server.serve(ex, "webhooks.create", owner -> create(ex, owner));
        default -> wrongMethod(ex, path, method, "GET or POST");
      }
    } else {
      server.serve(
          ex,
          "unknown",
          owner -> {
            throw ApiError.notFound("The requested URL " + path + " was not found on this server.");
          });
    }
  }

  private void wrongMethod(HttpExchange ex, String path, String method, String allowed)
      throws IOException {
    server.serve(
        ex,
        "unknown",
        owner -> {
          throw ApiError.notFound(
              "The requested URL " + path + " was not found on this server (" + method
                  + " is not supported there; use " + allowed + ").");
        });
  }

  // --- endpoints -------------------------------------------------------------------------------

  private void create(HttpExchange ex, String owner) throws IOException {
    JsonNode body = readJson(ex);
    checkFields(body, "webhook", Set.of("name", "uri", "subscribed_events"));
    String name = string(body, "name", "webhook.name");
    String uri = uri(string(body, "uri", "webhook.uri"));
    List<String> events = events(field(body, "subscribed_events"));
    String id;
    do {
      id = Signing.randomId(16);
    } while (hooks.containsKey(id));
    String secret = Signing.newSecret();
    Hook h = new Hook(id, seq.incrementAndGet(), owner, Instant.now());
    synchronized (h) {
      h.name = name;
      h.uri = uri;
      h.events = events;
      h.secrets.add(new Secret(secret, null));
    }
    hooks.put(id, h);
    send(ex, write(h, secret));
  }

  private void list(HttpExchange ex, String owner, Map<String, String> query) throws IOException {
    int pageSize = pageSize(query);
    long after = pageToken(query.get("page_token"));
    List<Hook> all = new ArrayList<>();
    for (Hook h : sorted(owner)) {
      if (h.seq > after) {
        all.add(h);
      }
    }
    ObjectNode out = JSON.createObjectNode();
    List<Hook> page = all.size() <= pageSize ? all : all.subList(0, pageSize);
    if (!page.isEmpty()) {
      ArrayNode arr = out.putArray("webhooks");
      for (Hook h : page) {
        arr.add(write(h, null));
      }
    }
    if (all.size() > pageSize) {
      out.put(
          "next_page_token",
          Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(("webhooks:" + page.get(pageSize - 1).seq).getBytes(StandardCharsets.UTF_8)));
    }
    send(ex, out);
  }

  private void update(HttpExchange ex, String owner, String id, Map<String, String> query)
      throws IOException {
    Hook h = get(owner, id);
    JsonNode body = readJson(ex);
    Set<String> known = new LinkedHashSet<>(UPDATABLE);
    known.addAll(OUTPUT_ONLY);
    checkFields(body, "webhook", known);
    Set<String> mask = new LinkedHashSet<>();
    String maskParam = query.containsKey("update_mask") ? query.get("update_mask") : query.get("updateMask");
    if (maskParam != null && !maskParam.isBlank()) {
      for (String f : maskParam.split(",")) {
        String snake = snake(f.trim());
        if (!UPDATABLE.contains(snake)) {
          throw ApiError.invalidArgument(
              "Invalid update_mask: '" + f.trim() + "' is not a field that can be updated (name,"
                  + " uri, subscribed_events, state).");
        }
        mask.add(snake);
      }
    } else {
      for (String f : UPDATABLE) {
        if (field(body, f) != null) {
          mask.add(f);
        }
      }
    }
    // Validate everything before changing anything.
    String name = mask.contains("name") ? string(body, "name", "webhook.name") : null;
    String uri = mask.contains("uri") ? uri(string(body, "uri", "webhook.uri")) : null;
    List<String> events =
        mask.contains("subscribed_events") ? events(field(body, "subscribed_events")) : null;
    String state = null;
    if (mask.contains("state")) {
      state = string(body, "state", "webhook.state");
      if (!ENABLED.equals(state) && !DISABLED.equals(state)) {
        throw ApiError.invalidArgument(
            "Invalid value at 'webhook.state' (" + state + "): a webhook can be set to enabled or"
                + " disabled.");
      }
    }
    synchronized (h) {
      if (mask.contains("name")) {
        h.name = name;
      }
      if (uri != null) {
        h.uri = uri;
      }
      if (events != null) {
        h.events = events;
      }
      if (state != null) {
        h.state = state;
      }
      h.updateTime = Instant.now();
    }
    send(ex, write(h, null));
  }

  private void delete(HttpExchange ex, String owner, String id) throws IOException {
    Hook h = get(owner, id);
    synchronized (h) {
      h.deleted = true;
    }
    hooks.remove(id, h);
    send(ex, JSON.createObjectNode());
  }

  private void ping(HttpExchange ex, String owner, String id) throws IOException {
    Hook h = get(owner, id);
    readJson(ex); // PingWebhookRequest has no fields
    ObjectNode data = JSON.createObjectNode();
    data.put("id", h.id);
    deliveries.send(h, h.uri(), envelope("webhook.ping", data), false);
    send(ex, JSON.createObjectNode());
  }

  private void rotate(HttpExchange ex, String owner, String id) throws IOException {
    Hook h = get(owner, id);
    JsonNode body = readJson(ex);
    checkFields(body, "", Set.of("revocation_behavior"));
    String behavior = string(body, "revocation_behavior", "revocation_behavior");
    boolean immediately;
    if (behavior == null
        || behavior.equalsIgnoreCase("revoke_previous_secrets_after_h24")
        || behavior.equals("REVOCATION_BEHAVIOR_UNSPECIFIED")) {
      immediately = false;
    } else if (behavior.equalsIgnoreCase("revoke_previous_secrets_immediately")) {
      immediately = true;
    } else {
      throw ApiError.invalidArgument(
          "Invalid value at 'revocation_behavior' (" + behavior + "): expected"
              + " revoke_previous_secrets_after_h24 or revoke_previous_secrets_immediately.");
    }
    String secret = Signing.newSecret();
    Instant now = Instant.now();
    synchronized (h) {
      if (immediately) {
        h.secrets.clear();
      } else {
        Instant expire = now.plus(deliveries.settings().revocationPeriod());
        for (int i = 0; i < h.secrets.size(); i++) {
          Secret s = h.secrets.get(i);
          if (s.expireTime() == null || s.expireTime().isAfter(expire)) {
            h.secrets.set(i, new Secret(s.value(), expire));
          }
        }
      }
      h.secrets.add(0, new Secret(secret, null));
      h.updateTime = now;
    }
    ObjectNode out = JSON.createObjectNode();
    out.put("secret", secret);
    send(ex, out);
  }

  // --- the store -------------------------------------------------------------------------------

  private Hook get(String owner, String id) {
    Hook h = hooks.get(id);
    if (h == null || !h.owner.equals(owner)) {
      throw ApiError.entityNotFound();
    }
    return h;
  }

  private List<Hook> sorted(String owner) {
    List<Hook> out = new ArrayList<>();
    for (Hook h : hooks.values()) {
      if (h.owner.equals(owner)) {
        out.add(h);
      }
    }
    out.sort(Comparator.comparingLong(h -> h.seq));
    return out;
  }

  private static ObjectNode write(Hook h, String newSecret) {
    ObjectNode n = JSON.createObjectNode();
    Instant now = Instant.now();
    synchronized (h) {
      n.put("id", h.id);
      if (h.name != null) {
        n.put("name", h.name);
      }
      n.put("uri", h.uri);
      ArrayNode ev = n.putArray("subscribed_events");
      h.events.forEach(ev::add);
      n.put("state", h.state);
      n.put("create_time", h.createTime.toString());
      n.put("update_time", h.updateTime.toString());
      if (newSecret != null) {
        n.put("new_signing_secret", newSecret);
      }
      ArrayNode secrets = n.putArray("signing_secrets");
      for (Secret s : h.validSecrets(now)) {
        ObjectNode o = secrets.addObject();
        o.put("truncated_secret", s.truncated());
        if (s.expireTime() != null) {
          o.put("expire_time", s.expireTime().toString());
        }
      }
    }
    return n;
  }

  /** A registered webhook; mutable fields are guarded by the hook itself. */
  static final class Hook {
    final String id;
    final long seq;
    final String owner;
    final Instant createTime;
    String name;
    String uri;
    List<String> events;
    String state = ENABLED;
    Instant updateTime;
    boolean deleted;
    /** Newest first. */
    final List<Secret> secrets = new ArrayList<>();

    Hook(String id, long seq, String owner, Instant createTime) {
      this.id = id;
      this.seq = seq;
      this.owner = owner;
      this.createTime = createTime;
      this.updateTime = createTime;
    }

    synchronized String uri() {
      return uri;
    }

    synchronized List<Secret> validSecrets(Instant now) {
      secrets.removeIf(s -> s.expireTime() != null && !s.expireTime().isAfter(now));
      return new ArrayList<>(secrets);
    }

    synchronized boolean deletedOrGone() {
      return deleted;
    }

    /** A delivery failed for good: the webhook stops receiving events. */
    synchronized boolean disableForFailures() {
      if (deleted || !state.equals(ENABLED)) {
        return false;
      }
      state = DISABLED_FAILING;
      updateTime = Instant.now();
      return true;
    }
  }

  record Secret(String value, Instant expireTime) {
    String truncated() {
      return value.substring(0, Signing.PREFIX.length() + 4) + "...";
    }
  }

  // --- request and reply helpers ---------------------------------------------------------------

  private static JsonNode readJson(HttpExchange ex) throws IOException {
    byte[] body;
    try (InputStream in = ex.getRequestBody()) {
      body = in.readNBytes(1 << 20);
    }
    if (body.length == 0) {
      return JSON.createObjectNode();
    }
    JsonNode n;
    try {
      n = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiError.invalidArgument("Invalid JSON payload received. " + e.getOriginalMessage());
    }
    if (n == null || n.isMissingNode() || n.isNull()) {
      return JSON.createObjectNode();
    }
    if (!n.isObject()) {
      throw ApiError.invalidArgument(
          "Invalid JSON payload received. Expected an object, got " + n.getNodeType() + ".");
    }
    return n;
  }

  /** A field by its snake_case name or its camelCase one; null when absent or null. */
  private static JsonNode field(JsonNode o, String snake) {
    JsonNode v = o.get(snake);
    if (v == null) {
      v = o.get(camel(snake));
    }
    return v == null || v.isNull() ? null : v;
  }

  private static void checkFields(JsonNode node, String at, Set<String> known) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(snake(name))) {
        throw ApiError.invalidArgument(
            "Invalid JSON payload received. Unknown name \"" + name + "\""
                + (at.isEmpty() ? "" : " at '" + at + "'") + ": Cannot find field.");
      }
    }
  }

  private static String string(JsonNode o, String snake, String at) {
    JsonNode v = field(o, snake);
    if (v == null) {
      return null;
    }
    if (!v.isTextual()) {
      throw ApiError.invalidArgument("Invalid value at '" + at + "' (TYPE_STRING), " + v);
    }
    return v.asText();
  }

  private static String uri(String uri) {
    if (uri == null || uri.isEmpty()) {
      throw ApiError.invalidArgument("Invalid value at 'webhook.uri': uri is required.");
    }
    try {
      URI u = new URI(uri);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && u.getHost() != null) {
        return uri;
      }
    } catch (java.net.URISyntaxException e) {
      // answered below
    }
    throw ApiError.invalidArgument(
        "Invalid value at 'webhook.uri' (" + uri + "): expected an absolute https:// (or, on the"
            + " emulator, http://) URL.");
  }

  private static List<String> events(JsonNode v) {
    if (v == null || !v.isArray() || v.isEmpty()) {
      throw ApiError.invalidArgument(
          "Invalid value at 'webhook.subscribed_events': at least one event is required ("
              + String.join(", ", EVENTS) + ").");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      JsonNode e = v.get(i);
      if (!e.isTextual() || !EVENTS.contains(e.asText())) {
        throw ApiError.invalidArgument(
            "Invalid value at 'webhook.subscribed_events[" + i + "]' (" + e + "): expected one of "
                + String.join(", ", EVENTS) + ".");
      }
      if (!out.contains(e.asText())) {
        out.add(e.asText());
      }
    }
    return List.copyOf(out);
  }

  private static int pageSize(Map<String, String> query) {
    String s = query.containsKey("page_size") ? query.get("page_size") : query.get("pageSize");
    if (s == null || s.isEmpty()) {
      return 50;
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
    return n == 0 ? 50 : Math.min(n, 1000);
  }

  /** The sequence number the page starts after (0 for the first page). */
  private static long pageToken(String token) {
    if (token == null || token.isEmpty()) {
      return 0;
    }
    try {
      String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (s.startsWith("webhooks:")) {
        return Long.parseLong(s.substring(9));
      }
    } catch (IllegalArgumentException e) {
      // answered below
    }
    throw ApiError.invalidArgument(
        "Invalid page_token: \"" + token + "\" is not a token this list returned.");
  }

  static String camel(String snake) {
    StringBuilder sb = new StringBuilder(snake.length());
    boolean up = false;
    for (char c : snake.toCharArray()) {
      if (c == '_') {
        up = true;
      } else {
        sb.append(up ? Character.toUpperCase(c) : c);
        up = false;
      }
    }
    return sb.toString();
  }

  static String snake(String name) {
    StringBuilder sb = new StringBuilder(name.length() + 4);
    for (char c : name.toCharArray()) {
      if (Character.isUpperCase(c)) {
        sb.append('_').append(Character.toLowerCase(c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static void send(HttpExchange ex, JsonNode body) throws IOException {
    byte[] bytes = (body.toPrettyString() + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
    ex.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }
}
