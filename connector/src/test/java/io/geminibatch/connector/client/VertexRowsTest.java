package io.geminibatch.connector.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The translation between staged lines and Vertex AI rows, byte for byte. */
class VertexRowsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static JsonNode translate(String row, Set<String> seen) throws IOException {
    byte[] line = VertexRows.translate(utf8(row), seen);
    return line == null ? null : JSON.readTree(line);
  }

  @Test
  void stagedKeysGetAPrefixSoNoneLooksNumeric() throws IOException {
    String staged = "{\"key\":\"000123\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"a\\\"b\"}]}]}}\n"
        + "\n{\"request\": {\"contents\": []}, \"key\": \"x \\u00e9\"}";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VertexRows.prefixKeys(new ByteArrayInputStream(utf8(staged)), out);
    assertEquals(
        "{\"key\":\"k-000123\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"a\\\"b\"}]}]}}\n"
            + "{\"key\":\"k-x é\",\"request\":{\"contents\": []}}\n",
        out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void rowsBecomeResultLines() throws IOException {
    Set<String> seen = new HashSet<>();
    JsonNode ok = translate("{\"status\":\"\",\"processed_time\":\"t\",\"request\":{},\"response\":{\"candidates\":[1]},"
        + "\"key\":\"k-000123\"}", seen);
    assertEquals(JSON.readTree("{\"key\":\"000123\",\"response\":{\"candidates\":[1]}}"), ok);

    JsonNode bad = translate("{\"key\":\"k-7\",\"status\":\"Bad Request: {\\\"error\\\": {\\\"code\\\": 400, \\\"message\\\":"
        + " \\\"Please use a valid role: user, model.\\\", \\\"status\\\": \\\"INVALID_ARGUMENT\\\"}}\",\"response\":{}}", seen);
    assertEquals("7", bad.path("key").asText());
    assertEquals(ApiStatus.INVALID_ARGUMENT, bad.path("error").path("code").asInt());
    assertEquals("Bad Request: {\"error\": {\"code\": 400, \"message\": \"Please use a valid role: user, model.\","
        + " \"status\": \"INVALID_ARGUMENT\"}}", bad.path("error").path("message").asText());

    JsonNode empty = translate("{\"key\":\"k-8\",\"status\":\"\",\"response\":{}}", seen);
    assertEquals(ApiStatus.UNKNOWN, empty.path("error").path("code").asInt());
  }

  @Test
  void duplicatesAreDroppedAndForeignOrCoercedKeysHaveNoKey() throws IOException {
    Set<String> seen = new HashSet<>();
    assertEquals("a", translate("{\"key\":\"k-a\",\"status\":\"\",\"response\":{\"x\":1}}", seen).path("key").asText());
    assertNull(translate("{\"key\":\"k-a\",\"status\":\"\",\"response\":{\"x\":2}}", seen));
    JsonNode coerced = translate("{\"key\":123,\"status\":\"\",\"response\":{\"x\":1}}", seen);
    assertEquals(false, coerced.has("key"));
    assertEquals(ApiStatus.UNKNOWN, coerced.path("error").path("code").asInt());
    assertEquals(false, translate("{\"status\":\"\",\"response\":{\"x\":1}}", seen).has("key"));
    assertEquals(false, translate("not json", seen).has("key"));
  }

  @Test
  void statusCodesComeFromTheErrorStatusElseTheHttpCode() {
    assertEquals(ApiStatus.RESOURCE_EXHAUSTED,
        VertexRows.codeOf("Too Many Requests: {\"error\": {\"code\": 429, \"status\": \"RESOURCE_EXHAUSTED\"}}"));
    assertEquals(ApiStatus.UNAVAILABLE, VertexRows.codeOf("Service Unavailable: {\"error\": {\"code\": 503}}"));
    assertEquals(ApiStatus.INTERNAL, VertexRows.codeOf("Internal Server Error: not json"));
    assertEquals(ApiStatus.UNKNOWN, VertexRows.codeOf("something else"));
  }

  @Test
  void severalFilesReadAsOneStreamAcrossBufferBoundaries() throws IOException {
    // Rows longer than the 64 KB read buffer, split over two files, one duplicated across them.
    String big = "z".repeat(70_000);
    List<InputStream> files = new ArrayList<>();
    files.add(new ByteArrayInputStream(utf8(
        "{\"key\":\"k-1\",\"status\":\"\",\"response\":{\"t\":\"" + big + "\"}}\n{\"key\":\"k-2\",\"status\":\"\",\"response\":{\"t\":\"b\"}}")));
    files.add(new ByteArrayInputStream(utf8(
        "{\"key\":\"k-2\",\"status\":\"\",\"response\":{\"t\":\"again\"}}\n{\"key\":\"k-3\",\"status\":\"\",\"response\":{\"t\":\"c\"}}\n")));
    String all;
    try (InputStream in = VertexRows.results(files.iterator())) {
      all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String[] lines = all.split("\n");
    assertEquals(3, lines.length);
    assertEquals(big, JSON.readTree(lines[0]).path("response").path("t").asText());
    assertEquals("b", JSON.readTree(lines[1]).path("response").path("t").asText());
    assertEquals("3", JSON.readTree(lines[2]).path("key").asText());
  }
}
