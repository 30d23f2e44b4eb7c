package io.geminibatch.testing.gcs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.geminibatch.testing.GeminiEmulator;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The wire format, byte for byte where the clients depend on it (shared/vertex-gcs-api.md §4.3). */
class GcsHttpTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static GeminiEmulator emulator;
  private static String base;

  @BeforeAll
  static void start() throws Exception {
    emulator = GeminiEmulator.builder().start();
    base = emulator.baseUrl();
    emulator.storage().createBucket("bkt");
  }

  @AfterAll
  static void stop() {
    emulator.close();
  }

  private static HttpResponse<byte[]> send(HttpRequest.Builder r) throws Exception {
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static JsonNode json(HttpResponse<byte[]> r) throws Exception {
    return JSON.readTree(r.body());
  }

  @Test
  void objectResourceHas64BitFieldsAsStringsAndHashes() throws Exception {
    emulator.storage().putObject("bkt", "a/b c.txt", new ByteArrayInputStream("hello".getBytes(StandardCharsets.UTF_8)));
    JsonNode o = json(send(HttpRequest.newBuilder(URI.create(base + "/storage/v1/b/bkt/o/a%2Fb%20c.txt"))));
    assertEquals("storage#object", o.get("kind").asText());
    assertEquals("a/b c.txt", o.get("name").asText());
    for (String f : new String[] {"size", "generation", "metageneration"}) {
      assertTrue(o.get(f).isTextual(), f + " is a string: " + o);
    }
    assertEquals("5", o.get("size").asText());
    assertEquals("XUFAKrxLKna5cZ2REBfFkg==", o.get("md5Hash").asText()); // md5("hello")
    assertEquals("mnG7TA==", o.get("crc32c").asText()); // crc32c("hello") = 0x9a71bb4c
  }

  @Test
  void resumableUploadAnswers308WithRangeThenTheObject() throws Exception {
    HttpResponse<byte[]> init =
        send(
            HttpRequest.newBuilder(URI.create(base + "/upload/storage/v1/b/bkt/o?uploadType=resumable&ifGenerationMatch=0"))
                .header("Content-Type", "application/json; charset=UTF-8")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"up/r.bin\"}")));
    assertEquals(200, init.statusCode());
    String session = init.headers().firstValue("Location").orElseThrow();
    assertTrue(session.startsWith(base + "/upload/storage/v1/b/bkt/o?"), session);
    byte[] data = new byte[300];
    new Random(3).nextBytes(data);
    HttpResponse<byte[]> query =
        send(HttpRequest.newBuilder(URI.create(session)).header("Content-Range", "bytes */*").PUT(HttpRequest.BodyPublishers.noBody()));
    assertEquals(308, query.statusCode());
    assertFalse(query.headers().firstValue("Range").isPresent(), "nothing received: no Range");
    HttpResponse<byte[]> first =
        send(
            HttpRequest.newBuilder(URI.create(session))
                .header("Content-Range", "bytes 0-199/*")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data, 0, 200)));
    assertEquals(308, first.statusCode());
    assertEquals("bytes=0-199", first.headers().firstValue("Range").orElseThrow());
    // A resend overlapping what was received is accepted from the server's offset.
    HttpResponse<byte[]> last =
        send(
            HttpRequest.newBuilder(URI.create(session))
                .header("Content-Range", "bytes 150-299/300")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data, 150, 150)));
    assertEquals(200, last.statusCode(), new String(last.body(), StandardCharsets.UTF_8));
    assertEquals("300", json(last).get("size").asText());
    HttpResponse<byte[]> range =
        send(HttpRequest.newBuilder(URI.create(base + "/download/storage/v1/b/bkt/o/up%2Fr.bin?alt=media")).header("Range", "bytes=290-"));
    assertEquals(206, range.statusCode());
    assertEquals("bytes 290-299/300", range.headers().firstValue("Content-Range").orElseThrow());
    assertArrayEquals(java.util.Arrays.copyOfRange(data, 290, 300), range.body());
    assertEquals("300", range.headers().firstValue("x-goog-stored-content-length").orElseThrow());
    HttpResponse<byte[]> beyond =
        send(HttpRequest.newBuilder(URI.create(base + "/download/storage/v1/b/bkt/o/up%2Fr.bin?alt=media")).header("Range", "bytes=300-"));
    assertEquals(416, beyond.statusCode());
    // ifGenerationMatch=0 on an existing name: 412 with Google's body.
    HttpResponse<byte[]> again =
        send(
            HttpRequest.newBuilder(URI.create(base + "/upload/storage/v1/b/bkt/o?uploadType=media&name=up/r.bin&ifGenerationMatch=0"))
                .POST(HttpRequest.BodyPublishers.ofString("x")));
    assertEquals(412, again.statusCode());
    JsonNode err = json(again).get("error");
    assertEquals(412, err.get("code").asInt());
    assertEquals("conditionNotMet", err.at("/errors/0/reason").asText());
  }

  @Test
  void gzipEncodedMultipartUploadIsStoredDecoded() throws Exception {
    String boundary = "__END_OF_PART__x1__";
    String body =
        "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"name\":\"mp/g.txt\"}\r\n--" + boundary
            + "\r\nContent-Type: text/plain\r\n\r\nline one\r\n\r\nline two--\r\n--" + boundary + "--\r\n";
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
      out.write(body.getBytes(StandardCharsets.UTF_8));
    }
    HttpResponse<byte[]> r =
        send(
            HttpRequest.newBuilder(URI.create(base + "/upload/storage/v1/b/bkt/o?uploadType=multipart"))
                .header("Content-Type", "multipart/related; boundary=" + boundary)
                .header("Content-Encoding", "gzip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(gz.toByteArray())));
    assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    assertEquals("text/plain", json(r).get("contentType").asText());
    try (var in = emulator.storage().openObject("bkt", "mp/g.txt")) {
      assertEquals("line one\r\n\r\nline two--", new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void batchAnswersEachPartInOrder() throws Exception {
    emulator.storage().putObject("bkt", "bt/one", new ByteArrayInputStream(new byte[] {1}));
    String b = "__END_OF_PART__batch__";
    String body =
        "--" + b + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\ncontent-id: 1\r\n\r\n"
            + "GET " + base + "/storage/v1/b/bkt/o/bt%2Fone HTTP/1.1\r\n\r\n\r\n"
            + "--" + b + "\r\nContent-Type: application/http\r\ncontent-id: 2\r\n\r\n"
            + "GET " + base + "/storage/v1/b/bkt/o/bt%2Fmissing HTTP/1.1\r\n\r\n\r\n"
            + "--" + b + "\r\nContent-Type: application/http\r\ncontent-id: 3\r\n\r\n"
            + "POST " + base + "/storage/v1/b/bkt/o/bt%2Fone/rewriteTo/b/bkt/o/bt%2Ftwo HTTP/1.1\r\nContent-Length: 0\r\n\r\n\r\n"
            + "--" + b + "\r\nContent-Type: application/http\r\ncontent-id: 4\r\n\r\n"
            + "DELETE " + base + "/storage/v1/b/bkt/o/bt%2Fone HTTP/1.1\r\n\r\n\r\n"
            + "--" + b + "--\r\n";
    HttpResponse<byte[]> r =
        send(
            HttpRequest.newBuilder(URI.create(base + "/batch/storage/v1"))
                .header("Content-Type", "multipart/mixed; boundary=" + b)
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertEquals(200, r.statusCode());
    String type = r.headers().firstValue("Content-Type").orElseThrow();
    assertTrue(type.startsWith("multipart/mixed; boundary="), type);
    String text = new String(r.body(), StandardCharsets.UTF_8);
    int ok = text.indexOf("HTTP/1.1 200 OK");
    int missing = text.indexOf("HTTP/1.1 404 Not Found");
    int rewrite = text.indexOf("storage#rewriteResponse");
    int deleted = text.indexOf("HTTP/1.1 204 No Content");
    assertTrue(0 < ok && ok < missing && missing < rewrite && rewrite < deleted, text);
    assertTrue(text.contains("Content-ID: <response-1>") && text.contains("Content-ID: <response-4>"), text);
    assertTrue(text.contains("\"totalBytesRewritten\":\"1\""), text);
    assertTrue(emulator.storage().getObject("bkt", "bt/two").isPresent());
    assertTrue(emulator.storage().getObject("bkt", "bt/one").isEmpty());
  }

  @Test
  void faultFlagsAnswer503AndDropDownloads() throws Exception {
    emulator.storage().putObject("bkt", "f/x", new ByteArrayInputStream(new byte[1000]));
    try {
      emulator.storage().setFaults(GcsFaults.none().withUnavailableRate(1));
      HttpResponse<byte[]> r = send(HttpRequest.newBuilder(URI.create(base + "/storage/v1/b/bkt/o/f%2Fx")));
      assertEquals(503, r.statusCode());
      assertEquals("backendError", json(r).at("/error/errors/0/reason").asText());
      emulator.storage().setFaults(GcsFaults.none().withDropDownloadRate(1));
      Exception dropped =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.io.IOException.class,
              () -> send(HttpRequest.newBuilder(URI.create(base + "/download/storage/v1/b/bkt/o/f%2Fx?alt=media"))));
      assertTrue(dropped.getMessage() == null || !dropped.getMessage().isEmpty());
      assertEquals(1, emulator.storage().calls("storage.fault.dropDownload"));
    } finally {
      emulator.storage().setFaults(GcsFaults.none());
    }
  }
}
