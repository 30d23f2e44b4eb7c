package io.geminibatch.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.geminibatch.connector.WebhookVerifier;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code listen}: a webhook receiver. Every POST is verified ({@link WebhookVerifier}: a {@code v1}
 * signature by one of the secrets, a timestamp at most 5 minutes old and not in the future); a
 * verified event is answered 204 and appended as one JSON line (the event with its {@code
 * webhook_id}) to {@code --events} or standard output, once per {@code webhook-id} (the service
 * delivers at least once); anything else is answered 4xx and written nowhere.
 */
final class ListenCommand {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BODY = 1 << 20;

  private ListenCommand() {}

  /** A running receiver. */
  static final class Listener implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService threads;
    final String url;
    /** Null unless --stagingLocation or --output named detached runs to collect. */
    final Collector collector;

    Listener(HttpServer server, ExecutorService threads, String url, Collector collector) {
      this.server = server;
      this.threads = threads;
      this.url = url;
      this.collector = collector;
    }

    @Override
    public void close() {
      server.stop(0);
      threads.shutdownNow();
      if (collector != null) {
        collector.close();
      }
    }
  }

  /** Runs until {@code stop} is counted down (never, from the command line: until killed). */
  static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env, CountDownLatch stop)
      throws UsageException, IOException {
    try (Listener l = start(args, out, err, env)) {
      try {
        stop.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return 0;
  }

  static Listener start(String[] args, PrintStream out, PrintStream err, Map<String, String> env)
      throws UsageException, IOException {
    ListenOptions o = Args.parse(args, ListenOptions.class);
    List<String> secrets = new ArrayList<>();
    if (o.getSecret() != null) {
      for (String s : o.getSecret()) {
        // Beam splits a list option on commas too; a secret has none.
        if (!s.isBlank()) {
          secrets.add(s.trim());
        }
      }
    }
    if (secrets.isEmpty() && env.get("GEMINI_WEBHOOK_SECRET") != null && !env.get("GEMINI_WEBHOOK_SECRET").isBlank()) {
      secrets.add(env.get("GEMINI_WEBHOOK_SECRET").trim());
    }
    if (secrets.isEmpty()) {
      throw new UsageException(
          "listen: --secret=whsec_... is required (the signing secret `webhooks create` printed), or"
              + " GEMINI_WEBHOOK_SECRET");
    }
    WebhookVerifier verifier;
    try {
      verifier = WebhookVerifier.of(secrets);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--secret: " + e.getMessage());
    }
    if (o.getPort() < 0 || o.getPort() > 65535) {
      throw new UsageException("--port: expected a port in [0, 65535], got " + o.getPort());
    }
    Path events = o.getEvents() == null ? null : Path.of(o.getEvents());
    Set<String> seen = new HashSet<>();
    if (events != null && Files.exists(events)) {
      // A restarted receiver still drops the redeliveries of what it has already written.
      for (String line : Files.readAllLines(events, StandardCharsets.UTF_8)) {
        try {
          JsonNode n = JSON.readTree(line);
          if (n != null && n.hasNonNull("webhook_id")) {
            seen.add(n.get("webhook_id").asText());
          }
        } catch (IOException e) {
          // not one of ours
        }
      }
    }
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(o.getHost()), o.getPort()), 64);
    } catch (IOException e) {
      throw new IOException("listen: cannot listen on " + o.getHost() + ":" + o.getPort() + ": " + e.getMessage(), e);
    }
    Sink sink = new Sink(events, out, seen);
    String apiKey = o.getApiKey();
    o.setApiKey(null);
    String staging = StagingLocations.given(o);
    Collector collector =
        staging == null && o.getOutput() == null ? null : new Collector(staging, o.getOutput(), apiKey, env, err);
    server.createContext("/", ex -> handle(ex, verifier, sink, collector, err));
    ExecutorService threads = Executors.newFixedThreadPool(4);
    server.setExecutor(threads);
    server.start();
    String host = o.getHost().contains(":") ? "[" + o.getHost() + "]" : o.getHost();
    String url = "http://" + host + ":" + server.getAddress().getPort();
    out.println("listening on " + url);
    out.flush();
    err.println(
        "gemini-batch: verifying deliveries against " + secrets.size() + " secret(s); events go to "
            + (events == null ? "standard output" : events));
    return new Listener(server, threads, url, collector);
  }

  /**
   * Collects detached runs: when an event names a job their ledger holds, runs the command the
   * run recorded (without --detach), in the background, one run at a time.
   */
  static final class Collector {
    private final String stagingLocation;
    private final String output;
    private final String apiKey;
    private final Map<String, String> env;
    private final PrintStream err;
    private final ExecutorService thread = Executors.newSingleThreadExecutor();
    private final Set<String> collecting = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final java.util.concurrent.atomic.AtomicInteger collected = new java.util.concurrent.atomic.AtomicInteger();

    Collector(String stagingLocation, String output, String apiKey, Map<String, String> env, PrintStream err) {
      this.stagingLocation = stagingLocation;
      this.output = output;
      this.apiKey = apiKey;
      this.env = env;
      this.err = err;
    }

    void onEvent(WebhookVerifier.Event e) {
      String batch = e.batchName();
      String type = e.type();
      if (batch == null || type == null || !type.startsWith("batch.")) {
        return;
      }
      try {
        for (DetachedRuns.Run run : DetachedRuns.find(stagingLocation, output)) {
          List<String> jobs = StagingLocations.recordedJobs(new StagingLocations.Location(run.staging, false, false), null);
          if (jobs.contains(batch) && collecting.add(run.staging)) {
            err.println("gemini-batch: " + type + " for " + batch + ": collecting the detached run in " + run.staging);
            thread.execute(() -> collect(run));
          }
        }
      } catch (IOException | RuntimeException x) {
        err.println("gemini-batch: could not look for detached runs: " + x.getMessage());
      }
    }

    private void collect(DetachedRuns.Run run) {
      try {
        List<String> args = new ArrayList<>(run.args);
        if (apiKey != null && !apiKey.isBlank()) {
          args.add("--apiKey=" + apiKey);
        }
        int status = Main.run(args.toArray(new String[0]), err, err, env);
        err.println("gemini-batch: collecting " + run.staging + " ended with status " + status);
        if (status == 0) {
          collected.incrementAndGet();
        }
      } finally {
        collecting.remove(run.staging);
      }
    }

    void close() {
      thread.shutdownNow();
    }
  }

  /** Where verified events go, once each. */
  private static final class Sink {
    private final Path file;
    private final PrintStream out;
    private final Set<String> seen;

    Sink(Path file, PrintStream out, Set<String> seen) {
      this.file = file;
      this.out = out;
      this.seen = seen;
    }

    /** False for a webhook-id already written. */
    synchronized boolean write(WebhookVerifier.Event e) throws IOException {
      if (!seen.add(e.webhookId())) {
        return false;
      }
      String line = e.toJsonLine();
      if (file == null) {
        out.println(line);
        out.flush();
      } else {
        try (BufferedWriter w =
            Files.newBufferedWriter(
                file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
          w.write(line);
          w.write('\n');
        } catch (IOException x) {
          seen.remove(e.webhookId()); // not written: let the service's retry try again
          throw x;
        }
      }
      return true;
    }
  }

  private static void handle(
      HttpExchange ex, WebhookVerifier verifier, Sink sink, Collector collector, PrintStream err)
      throws IOException {
    try (ex) {
      if (!ex.getRequestMethod().equals("POST")) {
        reply(ex, 405, "POST only");
        return;
      }
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readNBytes(MAX_BODY + 1);
      }
      if (body.length > MAX_BODY) {
        reply(ex, 413, "body over " + MAX_BODY + " bytes");
        return;
      }
      WebhookVerifier.Event event;
      try {
        event = verifier.verify(name -> ex.getRequestHeaders().getFirst(name), body);
      } catch (WebhookVerifier.VerificationException e) {
        err.println("gemini-batch: refused a delivery: " + e.getMessage());
        reply(ex, e.getMessage().contains("signature") || e.getMessage().contains("missing") ? 401 : 400, e.getMessage());
        return;
      }
      boolean isNew;
      try {
        isNew = sink.write(event);
      } catch (IOException e) {
        err.println("gemini-batch: could not write an event: " + e.getMessage());
        reply(ex, 500, "could not store the event");
        return;
      }
      err.println(
          "gemini-batch: " + (isNew ? "event " : "duplicate (already written) ") + event.type() + " "
              + (event.batchName() == null ? "" : event.batchName() + " ") + "(" + event.webhookId() + ")");
      ex.sendResponseHeaders(204, -1);
      if (isNew && collector != null) {
        collector.onEvent(event);
      }
    }
  }

  private static void reply(HttpExchange ex, int code, String text) throws IOException {
    byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=UTF-8");
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(b);
    }
  }
}
