package io.geminibatch.connector.client;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.geminibatch.connector.client.GeminiBatchClient.ContentSource;
import io.geminibatch.testing.EmulatorResponder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Helpers shared by the client's tests. */
final class TestSupport {
  /** Distinctive, so that finding it in a message is never a coincidence. */
  static final String KEY = "AIzaTestKey-q7Zx9-never-print-me";

  /** A key the emulator does not know; no message may show it either. */
  static final String WRONG_KEY = "AIzaWrongKey-r4Vb2-never-print-me";

  static final String MODEL = "models/gemini-2.5-flash";

  private static final ObjectMapper JSON = new ObjectMapper();

  static final int CHUNK = 256 * 1024;

  private TestSupport() {}

  /** Small backoffs: retries cost milliseconds. */
  static GeminiClientConfig.Builder config(String baseUrl) {
    return GeminiClientConfig.builder()
        .baseUrl(baseUrl)
        .apiKey(ApiKeyProvider.of(KEY))
        .uploadChunkBytes(CHUNK)
        .maxRetries(10)
        .initialBackoff(Duration.ofMillis(1))
        .maxBackoff(Duration.ofMillis(10))
        .requestTimeout(Duration.ofSeconds(30));
  }

  /** Fails if the API key shows in the message or string of {@code t}, its causes or suppressed. */
  static <T extends Throwable> T assertNoKey(T t) {
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    assertNoKey(t, seen);
    return t;
  }

  private static void assertNoKey(Throwable t, Set<Throwable> seen) {
    if (t == null || !seen.add(t)) {
      return;
    }
    for (String key : List.of(KEY, WRONG_KEY)) {
      // toString() carries the message; the message may be overridden separately.
      assertFalse(String.valueOf(t).contains(key), "API key in: " + t);
      assertFalse(String.valueOf(t.getMessage()).contains(key), "API key in " + t.getClass());
    }
    assertNoKey(t.getCause(), seen);
    for (Throwable s : t.getSuppressed()) {
      assertNoKey(s, seen);
    }
  }

  /**
   * Content whose streams return at most {@code maxRead} bytes per read, as network and cloud
   * storage streams do; counts how often it was opened.
   */
  static final class ChoppySource implements ContentSource {
    final AtomicInteger opens = new AtomicInteger();
    private final byte[] data;
    private final int maxRead;

    ChoppySource(byte[] data, int maxRead) {
      this.data = data;
      this.maxRead = maxRead;
    }

    @Override
    public InputStream open() {
      opens.incrementAndGet();
      return new ByteArrayInputStream(data) {
        @Override
        public synchronized int read(byte[] b, int off, int len) {
          return super.read(b, off, Math.min(len, maxRead));
        }
      };
    }
  }

  static byte[] readAll(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }

  // ---- Batch inputs and results ----

  /** A request whose prompt text the responder echoes. */
  private static ObjectNode request(String text) {
    ObjectNode request = JSON.createObjectNode();
    request
        .putArray("contents")
        .addObject()
        .put("role", "user")
        .putArray("parts")
        .addObject()
        .put("text", text);
    return request;
  }

  private static byte[] line(String key, String text) throws IOException {
    ObjectNode line = JSON.createObjectNode().put("key", key);
    line.set("request", request(text));
    return (JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A JSONL batch input of exactly {@code size} bytes: lines {@code prefix-i}, the last one padded
   * in its prompt.
   */
  static byte[] jsonlOfSize(String prefix, int size) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(size);
    for (int i = 0; ; i++) {
      String key = prefix + "-" + i;
      String text = "prompt " + i + " of " + prefix;
      byte[] line = line(key, text);
      if (size - out.size() < 2 * line.length + 100) {
        int pad = size - out.size() - line.length - 1;
        out.write(line(key, text + " " + "p".repeat(pad)));
        break;
      }
      out.write(line);
    }
    if (out.size() != size) {
      throw new AssertionError("built " + out.size() + " bytes, wanted " + size);
    }
    return out.toByteArray();
  }

  /** {@code key -> prompt} of a JSONL input. */
  static Map<String, String> prompts(byte[] jsonl) throws IOException {
    Map<String, String> prompts = new HashMap<>();
    for (String line : new String(jsonl, StandardCharsets.UTF_8).split("\n")) {
      JsonNode node = JSON.readTree(line);
      prompts.put(node.get("key").asText(), node.at("/request/contents/0/parts/0/text").asText());
    }
    return prompts;
  }

  /** The inline {@code [{"request", "metadata": {"key"}}]} array for these keys. */
  static byte[] inlineRequests(Map<String, String> prompts) throws IOException {
    ArrayNode array = JSON.createArrayNode();
    prompts.forEach(
        (key, text) -> {
          ObjectNode item = array.addObject();
          item.set("request", request(text));
          item.putObject("metadata").put("key", key);
        });
    return JSON.writeValueAsBytes(array);
  }

  static Map<String, String> prompts(String prefix, int count) {
    Map<String, String> prompts = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      prompts.put(prefix + "-" + i, "inline prompt " + i + " of " + prefix);
    }
    return prompts;
  }

  /** What the emulator answers to each prompt. */
  static Map<String, String> echoes(Map<String, String> prompts) {
    Map<String, String> echoes = new HashMap<>();
    prompts.forEach(
        (key, text) -> echoes.put(key, EmulatorResponder.generateText(request(text).toString())));
    return echoes;
  }

  /** The text of a GenerateContentResponse, or the message of an error status. */
  static String text(JsonNode response) {
    return response.at("/candidates/0/content/parts/0/text").asText();
  }

  /** {@code key -> answer text} of a result file. */
  static Map<String, String> results(byte[] jsonl) throws IOException {
    Map<String, String> results = new HashMap<>();
    for (String line : new String(jsonl, StandardCharsets.UTF_8).split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode node = JSON.readTree(line);
      String previous =
          results.put(
              node.get("key").asText(),
              node.has("response") ? text(node.get("response")) : "error " + node.get("error"));
      if (previous != null) {
        throw new AssertionError("key twice in results: " + node.get("key"));
      }
    }
    return results;
  }

  static JsonNode parse(byte[] json) throws IOException {
    return JSON.readTree(json);
  }

  /** Polls (no sleeping: each poll is a round trip) until the job ends or a minute passes. */
  static BatchJob awaitTerminal(GeminiBatchClient client, String name) throws IOException {
    Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
    while (true) {
      BatchJob job = client.getBatch(name).orElseThrow(() -> new AssertionError(name + " gone"));
      if (job.getState().isTerminal()) {
        return job;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError(name + " still " + job.getRawState() + " after a minute");
      }
    }
  }

  /** Sum of the counters whose name contains {@code fragment}. */
  static long count(Map<String, ? extends Number> counters, String fragment) {
    return counters.entrySet().stream()
        .filter(e -> e.getKey().contains(fragment))
        .mapToLong(e -> e.getValue().longValue())
        .sum();
  }
}
