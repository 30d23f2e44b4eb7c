package io.geminibatch.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code webhooks create|list|get|delete|ping|rotate-secret}: the project's registered webhooks
 * (the Gemini API's WebhookService, {@code /v1beta/webhooks}), as Google's SDKs call it.
 */
final class WebhooksCommand {
  static final String DEFAULT_EVENTS = "batch.succeeded,batch.failed,batch.cancelled,batch.expired";
  private static final ObjectMapper JSON = new ObjectMapper();

  private WebhooksCommand() {}

  static int run(List<String> words, String[] flags, PrintStream out, Map<String, String> env)
      throws UsageException, IOException {
    if (words.isEmpty()) {
      throw new UsageException(
          "webhooks: say what to do: create --uri=URL, list, get ID, delete ID, ping ID or rotate-secret ID");
    }
    String action = words.get(0);
    WebhooksOptions options = Args.parse(flags, WebhooksOptions.class);
    String id = null;
    switch (action) {
      case "create":
        expect(words, 1, "webhooks create --uri=URL [--events=E1,E2] [--name=N]");
        if (options.getUri() == null || options.getUri().isBlank()) {
          throw new UsageException("webhooks create: --uri=URL is required (where events are sent)");
        }
        break;
      case "list":
        expect(words, 1, "webhooks list");
        break;
      case "get":
      case "delete":
      case "ping":
      case "rotate-secret":
        expect(words, 2, "webhooks " + action + " ID");
        id = id(words.get(1));
        break;
      default:
        throw new UsageException(
            "webhooks: unknown action '" + action + "': use create, list, get, delete, ping or rotate-secret");
    }
    try (Service service = Service.forJobs(options, env)) {
      Api api = new Api(service.baseUrl(), service.apiKey().get());
      try {
        act(action, id, options, api, out);
      } catch (IOException e) {
        throw Errors.reaching(service.baseUrl(), e);
      }
    }
    return 0;
  }

  private static void act(String action, String id, WebhooksOptions o, Api api, PrintStream out)
      throws IOException, UsageException {
    switch (action) {
      case "create": {
        ObjectNode body = JSON.createObjectNode();
        if (o.getName() != null) {
          body.put("name", o.getName());
        }
        body.put("uri", o.getUri());
        ArrayNode events = body.putArray("subscribed_events");
        for (String e : (o.getEvents() == null ? DEFAULT_EVENTS : o.getEvents()).split(",")) {
          if (!e.isBlank()) {
            events.add(e.trim());
          }
        }
        JsonNode hook = api.call("POST", "webhooks", "", body);
        print(hook, out);
        out.println("signing secret: " + hook.path("new_signing_secret").asText());
        out.println("  (shown this once: keep it, e.g. in GEMINI_WEBHOOK_SECRET; `listen --secret=...` and");
        out.println("   WebhookVerifier check deliveries with it; `webhooks rotate-secret ID` makes a new one)");
        break;
      }
      case "list":
        list(api, out);
        break;
      case "get":
        print(api.call("GET", "webhooks/" + id, "", null), out);
        break;
      case "delete":
        api.call("DELETE", "webhooks/" + id, "", null);
        out.println("deleted webhook " + id);
        break;
      case "ping": {
        JsonNode hook = api.call("GET", "webhooks/" + id, "", null);
        api.call("POST", "webhooks/" + id + ":ping", "", JSON.createObjectNode());
        out.println("ping sent to " + hook.path("uri").asText() + " (webhook " + id + ")");
        break;
      }
      default: {
        ObjectNode body = JSON.createObjectNode();
        body.put(
            "revocation_behavior",
            o.getRevokeNow() ? "revoke_previous_secrets_immediately" : "revoke_previous_secrets_after_h24");
        JsonNode r = api.call("POST", "webhooks/" + id + ":rotateSigningSecret", "", body);
        out.println("new signing secret: " + r.path("secret").asText());
        out.println(
            o.getRevokeNow()
                ? "  (the previous secrets are revoked now)"
                : "  (the previous secrets stay valid for 24 hours: deliveries carry a signature for each)");
      }
    }
  }

  private static void list(Api api, PrintStream out) throws IOException {
    List<JsonNode> hooks = new ArrayList<>();
    String token = null;
    do {
      String query = "?page_size=100" + (token == null ? "" : "&page_token=" + URLEncoder.encode(token, StandardCharsets.UTF_8));
      JsonNode page = api.call("GET", "webhooks", query, null);
      page.path("webhooks").forEach(hooks::add);
      token = page.hasNonNull("next_page_token") ? page.get("next_page_token").asText() : null;
    } while (token != null && !token.isEmpty());
    if (hooks.isEmpty()) {
      out.println("no webhooks");
      return;
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"ID", "NAME", "STATE", "EVENTS", "URI"});
    for (JsonNode h : hooks) {
      rows.add(
          new String[] {
            h.path("id").asText(), text(h.path("name").asText(null)), h.path("state").asText(),
            events(h), h.path("uri").asText()
          });
    }
    JobsCommand.printTable(rows, out);
  }

  private static void print(JsonNode h, PrintStream out) {
    out.println("id:       " + h.path("id").asText());
    out.println("name:     " + text(h.path("name").asText(null)));
    out.println("uri:      " + h.path("uri").asText());
    out.println("events:   " + events(h));
    out.println("state:    " + h.path("state").asText());
    out.println("created:  " + text(h.path("create_time").asText(null)));
    out.println("updated:  " + text(h.path("update_time").asText(null)));
    List<String> secrets = new ArrayList<>();
    for (JsonNode s : h.path("signing_secrets")) {
      secrets.add(
          s.path("truncated_secret").asText()
              + (s.hasNonNull("expire_time") ? " (expires " + s.get("expire_time").asText() + ")" : ""));
    }
    out.println("secrets:  " + (secrets.isEmpty() ? "-" : String.join(", ", secrets)));
  }

  private static String events(JsonNode h) {
    List<String> e = new ArrayList<>();
    h.path("subscribed_events").forEach(n -> e.add(n.asText()));
    return String.join(",", e);
  }

  private static String text(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  private static void expect(List<String> words, int count, String usage) throws UsageException {
    if (words.size() != count) {
      throw new UsageException("usage: " + usage + " (got: " + String.join(" ", words) + ")");
    }
  }

  /** A webhook ID, also from {@code webhooks/ID}. */
  private static String id(String word) throws UsageException {
    String id = word.startsWith("webhooks/") ? word.substring("webhooks/".length()) : word;
    if (!id.matches("[A-Za-z0-9_-]+")) {
      throw new UsageException("not a webhook ID: '" + word + "'");
    }
    return id;
  }

  /** The webhooks REST resource; an answer other than 2xx is an IOException naming the call. */
  private static final class Api {
    private final String root;
    private final String key;
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    Api(String baseUrl, String key) {
      this.root = baseUrl + "/v1beta/";
      this.key = key;
    }

    JsonNode call(String method, String path, String query, JsonNode body) throws IOException {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create(root + path + query))
              .timeout(Duration.ofSeconds(60))
              .header("x-goog-api-key", key)
              .header("Accept", "application/json");
      if (body != null) {
        b.header("Content-Type", "application/json");
        b.method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      } else {
        b.method(method, HttpRequest.BodyPublishers.noBody());
      }
      HttpResponse<byte[]> r;
      try {
        r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      JsonNode json;
      try {
        json = r.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(r.body());
      } catch (IOException e) {
        json = JSON.createObjectNode();
      }
      if (r.statusCode() / 100 != 2) {
        JsonNode err = json.path("error");
        throw new IOException(
            method + " /v1beta/" + path + ": HTTP " + r.statusCode() + " " + err.path("status").asText("")
                + ": " + err.path("message").asText(new String(r.body(), StandardCharsets.UTF_8)));
      }
      return json;
    }
  }
}
