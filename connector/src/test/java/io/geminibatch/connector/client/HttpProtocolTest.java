package io.geminibatch.connector.client;

import static io.geminibatch.connector.client.TestSupport.CHUNK;
import static io.geminibatch.connector.client.TestSupport.KEY;
import static io.geminibatch.connector.client.TestSupport.assertNoKey;
import static io.geminibatch.connector.client.TestSupport.config;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Wire details the emulator does not vary: Retry-After, non-JSON errors, an upload URL on another
 * host, partial chunk receipt, a server that ignores Range. A scripted JDK HttpServer plays the
 * service.
 */
class HttpProtocolTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String OPERATION =
      "{\"name\": \"batches/a\", \"metadata\": {\"state\": \"BATCH_STATE_PENDING\"}}";

  private HttpServer server;
  private ExecutorService executor;
  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    executor = Executors.newCachedThreadPool();
    server.setExecutor(executor);
    server.start();
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
    executor.shutdownNow();
  }

  private HttpGeminiBatchClient client(int maxRetries) {
    String base = "http://127.0.0.1:" + server.getAddress().getPort();
    return new HttpGeminiBatchClient(
        config(base).maxRetries(maxRetries).build(), sleeps::add, true);
  }

  /** Scripted reply: status, headers as name/value pairs, body. */
  private static void reply(HttpExchange x, int status, String body, String... headers)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < headers.length; i += 2) {
      x.getResponseHeaders().add(headers[i], headers[i + 1]);
    }
    x.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(bytes);
    }
  }

  private void record(HttpExchange x) {
    assertEquals(KEY, x.getRequestHeaders().getFirst("x-goog-api-key"));
    requests.add(x.getRequestMethod() + " " + x.getRequestURI());
  }

  @Test
  void retryAfterIsAFloorOfTheBackoff() throws IOException {
    server.createContext(
        "/v1beta/batches/a",
        x -> {
          record(x);
          if (requests.size() <= 2) {
            reply(
                x,
                429,
                "{\"error\": {\"code\": 429, \"message\": \"slow down\", \"status\":"
                    + " \"RESOURCE_EXHAUSTED\"}}",
                "Retry-After",
                "7");
          } else {
            reply(x, 200, OPERATION);
          }
        });
    assertEquals("batches/a", client(5).getBatch("batches/a").orElseThrow().getName());
    assertEquals(
        List.of("GET /v1beta/batches/a", "GET /v1beta/batches/a", "GET /v1beta/batches/a"),
        requests);
    assertEquals(2, sleeps.size());
    assertTrue(
        sleeps.stream().allMatch(d -> d.compareTo(Duration.ofSeconds(7)) >= 0), sleeps.toString());
  }

  @Test
  void nonJsonErrorKeepsStatusAndBodyStartAfterTheLastRetry() {
    String page = "<html><body>Bad gateway " + "z".repeat(400) + "</body></html>";
    server.createContext(
        "/v1beta/files/f",
        x -> {
          record(x);
          reply(x, 502, page);
        });
    GeminiApiException e =
        assertNoKey(assertThrows(GeminiApiException.class, () -> client(2).getFile("files/f")));
    assertEquals(3, requests.size());
    assertEquals(502, e.getHttpStatus());
    assertNull(e.getStatus());
    assertEquals("files.get files/f failed: HTTP 502: " + page.substring(0, 200), e.getMessage());
  }

  @Test
  void createIsTriedOnceAndSaysWhetherTheJobMayExist() throws IOException {
    List<JsonNode> bodies = new CopyOnWriteArrayList<>();
    int[] status = {503};
    server.createContext(
        "/v1beta/models/",
        x -> {
          record(x);
          bodies.add(JSON.readTree(x.getRequestBody()));
          reply(
              x,
              status[0],
              "{\"error\": {\"code\": " + status[0] + ", \"message\": \"m\", \"status\": \"S\"}}");
        });
    HttpGeminiBatchClient client = client(5);
    byte[] requestsArray =
        "[{\"request\": {\"contents\": [{\"parts\": [{\"text\": \"hi\"}]}]}, \"metadata\": {\"key\": \"k\"}}]"
            .getBytes(StandardCharsets.UTF_8);

    CreateOutcomeUnknownException unknown =
        assertNoKey(
            assertThrows(
                CreateOutcomeUnknownException.class,
                () ->
                    client.createInlineBatch(
                        BatchKind.GENERATE, "gemini-2.5-flash", "d1", requestsArray)));
    assertEquals(503, ((GeminiApiException) unknown.getCause()).getHttpStatus());
    assertEquals(List.of("POST /v1beta/models/gemini-2.5-flash:batchGenerateContent"), requests);
    assertEquals(
        JSON.readTree(
            "{\"batch\": {\"displayName\": \"d1\", \"inputConfig\": {\"requests\": {\"requests\": "
                + new String(requestsArray, StandardCharsets.UTF_8)
                + "}}}}"),
        bodies.get(0));

    status[0] = 429;
    GeminiApiException refused =
        assertNoKey(
            assertThrows(
                GeminiApiException.class,
                () ->
                    client.createFileBatch(
                        BatchKind.EMBED, "models/text-embedding-004", "d2", "files/in")));
    assertEquals(429, refused.getHttpStatus());
    assertEquals("POST /v1beta/models/text-embedding-004:asyncBatchEmbedContent", requests.get(1));
    assertEquals(2, requests.size());
    assertEquals(
        JSON.readTree(
            "{\"batch\": {\"displayName\": \"d2\", \"inputConfig\": {\"fileName\":"
                + " \"files/in\"}}}"),
        bodies.get(1));
  }

  /** A resumable-upload server that keeps what it received; can lose part of one chunk. */
  private final class UploadServer {
    final ByteArrayOutputStream received = new ByteArrayOutputStream();
    final List<String> commands = new ArrayList<>();
    int failChunk = -1;

    UploadServer() {
      server.createContext("/upload/v1beta/files", this::handle);
    }

    private synchronized void handle(HttpExchange x) throws IOException {
      record(x);
      String command = x.getRequestHeaders().getFirst("X-Goog-Upload-Command");
      commands.add(
          command
              + (command.startsWith("upload")
                  ? "@" + x.getRequestHeaders().getFirst("X-Goog-Upload-Offset")
                  : ""));
      if (command.equals("start")) {
        assertEquals("resumable", x.getRequestHeaders().getFirst("X-Goog-Upload-Protocol"));
        JsonNode file = JSON.readTree(x.getRequestBody()).get("file");
        assertEquals("files/up1", file.get("name").asText());
        assertEquals("application/jsonl", file.get("mimeType").asText());
        assertEquals(
            "application/jsonl",
            x.getRequestHeaders().getFirst("X-Goog-Upload-Header-Content-Type"));
        // Another host, as behind a load balancer: only path and query may be used.
        reply(
            x,
            200,
            "",
            "X-Goog-Upload-URL",
            "https://uploads.example.invalid:4443/upload/v1beta/files?upload_id=xyz&upload_protocol=resumable");
        return;
      }
      assertEquals("upload_id=xyz&upload_protocol=resumable", x.getRequestURI().getQuery());
      if (command.equals("query")) {
        reply(
            x,
            200,
            "",
            "X-Goog-Upload-Status",
            "active",
            "X-Goog-Upload-Size-Received",
            "" + received.size());
        return;
      }
      assertEquals(
          received.size(), Long.parseLong(x.getRequestHeaders().getFirst("X-Goog-Upload-Offset")));
      byte[] chunk = x.getRequestBody().readAllBytes();
      if (--failChunk == 0) {
        received.write(chunk, 0, chunk.length / 3);
        reply(
            x,
            503,
            "{\"error\": {\"code\": 503, \"message\": \"try again\", \"status\":"
                + " \"UNAVAILABLE\"}}");
        return;
      }
      received.write(chunk);
      if (command.equals("upload, finalize")) {
        reply(
            x,
            200,
            "{\"file\": {\"name\": \"files/up1\", \"sizeBytes\": \""
                + received.size()
                + "\", \"state\": \"ACTIVE\", \"mimeType\": \"application/jsonl\"}}",
            "X-Goog-Upload-Status",
            "final");
      } else {
        reply(x, 200, "", "X-Goog-Upload-Status", "active");
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2 * CHUNK, 2 * CHUNK + 5})
  void uploadSendsFullChunksToTheConfiguredHost(int size) throws IOException {
    UploadServer upload = new UploadServer();
    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    TestSupport.ChoppySource source = new TestSupport.ChoppySource(data, 1000);
    GeminiFile file = client(3).uploadFile("up1", "input", "application/jsonl", size, source);

    assertEquals("files/up1", file.getName());
    assertEquals(size, file.getSizeBytes());
    assertEquals("ACTIVE", file.getState());
    assertArrayEquals(data, upload.received.toByteArray());
    List<String> expected = new ArrayList<>(List.of("start"));
    for (long offset = 0; offset < size; offset += CHUNK) {
      expected.add((offset + CHUNK >= size ? "upload, finalize" : "upload") + "@" + offset);
    }
    assertEquals(expected, upload.commands);
    assertEquals(1, source.opens.get());
  }

  @Test
  void failedChunkResumesFromTheOffsetTheServiceHolds() throws IOException {
    UploadServer upload = new UploadServer();
    upload.failChunk = 2;
    byte[] data = new byte[3 * CHUNK + 1];
    new Random(3).nextBytes(data);
    TestSupport.ChoppySource source = new TestSupport.ChoppySource(data, 4096);
    client(3).uploadFile("up1", null, "application/jsonl", data.length, source);

    assertArrayEquals(data, upload.received.toByteArray());
    long resumedAt = CHUNK + CHUNK / 3;
    assertEquals(
        List.of(
            "start",
            "upload@0",
            "upload@" + CHUNK,
            "query",
            "upload@" + resumedAt,
            "upload, finalize@" + (resumedAt + CHUNK)),
        upload.commands);
    assertEquals(2, source.opens.get());
    assertEquals(1, sleeps.size());
  }

  @Test
  void emptyUploadIsRefusedBeforeAnyCall() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                client(0)
                    .uploadFile(
                        null,
                        "d",
                        "text/plain",
                        0,
                        () -> {
                          throw new AssertionError();
                        }));
    assertTrue(e.getMessage().contains("got 0"), e.getMessage());
    assertTrue(requests.isEmpty());
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void downloadResumesAfterADroppedConnection(boolean honourRange) throws IOException {
    byte[] data = new byte[300_000];
    new Random(7).nextBytes(data);
    List<String> ranges = new CopyOnWriteArrayList<>();
    server.createContext(
        "/v1beta/files/batch-a:download",
        x -> {
          record(x);
          assertEquals("alt=media", x.getRequestURI().getQuery());
          String range = x.getRequestHeaders().getFirst("Range");
          ranges.add(String.valueOf(range));
          if (range == null) {
            // Announce everything, send a third, hang up.
            x.sendResponseHeaders(200, data.length);
            OutputStream out = x.getResponseBody();
            out.write(data, 0, data.length / 3);
            out.flush();
            x.close();
            return;
          }
          int from = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
          if (honourRange) {
            x.getResponseHeaders()
                .add(
                    "Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
            x.sendResponseHeaders(206, data.length - from);
            try (OutputStream out = x.getResponseBody()) {
              out.write(data, from, data.length - from);
            }
          } else {
            x.sendResponseHeaders(200, data.length);
            try (OutputStream out = x.getResponseBody()) {
              out.write(data);
            }
          }
        });
    byte[] got = TestSupport.readAll(client(3).download("files/batch-a"));
    assertArrayEquals(data, got);
    assertEquals(2, ranges.size(), ranges.toString());
    assertEquals("null", ranges.get(0));
    assertTrue(ranges.get(1).matches("bytes=\\d+-"), ranges.get(1));
  }

  @Test
  void missingKeyFailsFastAndNamesNoSecret() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                new HttpGeminiBatchClient(config("http://127.0.0.1:1").apiKey(() -> null).build()));
    assertTrue(e.getMessage().startsWith("No Gemini API key"), e.getMessage());
    assertFalse(
        new HttpGeminiBatchClient(config("http://127.0.0.1:1").build()).toString().contains(KEY));
  }
}
