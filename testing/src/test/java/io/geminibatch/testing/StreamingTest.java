package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 300 MB in and out of an emulator whose JVM has 64 MB of heap: uploads, processing and
 * downloads stream, so nothing the size of a file is ever held in memory.
 */
class StreamingTest {
  private static final long TARGET_BYTES = 300L * 1000 * 1000;
  private static final int CHUNK = 8 * 1024 * 1024;

  @TempDir Path dir;

  /** The prompt of line {@code i}: about 1 KB, different on every line. */
  private static String prompt(long i) {
    StringBuilder sb = new StringBuilder(1024);
    sb.append("Prompt number ").append(i).append(": ");
    while (sb.length() < 1000) {
      sb.append("the quick brown fox ").append(i % 97).append(' ');
    }
    return sb.toString();
  }

  @Test
  void threeHundredMegabytesStreamThroughAnEmulatorWith64MbOfHeap() throws Exception {
    Path input = dir.resolve("input.jsonl");
    MessageDigest inputSha = MessageDigest.getInstance("SHA-256");
    long lines = 0;
    try (OutputStream out =
        new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(input), 1 << 16), inputSha)) {
      long written = 0;
      while (written < TARGET_BYTES) {
        byte[] line =
            ("{\"key\": \"k" + lines + "\", \"request\": " + Http.request(prompt(lines)) + "}\n")
                .getBytes(StandardCharsets.UTF_8);
        out.write(line);
        written += line.length;
        lines++;
      }
    }
    long size = Files.size(input);

    Path stderr = dir.resolve("emulator-stderr.txt");
    Process emulator =
        EmulatorMainTest.launch(
            List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError"), stderr, "--port", "0", "--job-latency", "PT0S");
    try {
      Http http = new Http(EmulatorMainTest.baseUrl(emulator));

      String url = http.startUpload(size, "{\"displayName\": \"big\", \"mimeType\": \"application/jsonl\"}");
      JsonNode file = null;
      byte[] buf = new byte[CHUNK];
      try (InputStream in = Files.newInputStream(input)) {
        long offset = 0;
        int n;
        while ((n = in.readNBytes(buf, 0, CHUNK)) > 0) {
          boolean last = offset + n == size;
          HttpRequest chunk =
              HttpRequest.newBuilder(URI.create(url))
                  .header("X-Goog-Upload-Command", last ? "upload, finalize" : "upload")
                  .header("X-Goog-Upload-Offset", Long.toString(offset))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(buf, 0, n))
                  .build();
          HttpResponse<String> r = http.client.send(chunk, HttpResponse.BodyHandlers.ofString());
          assertEquals(200, r.statusCode(), r.body());
          offset += n;
          if (last) {
            file = Http.JSON.readTree(r.body()).get("file");
          }
        }
      }
      assertEquals(Long.toString(size), file.get("sizeBytes").asText());
      assertEquals(Base64.getEncoder().encodeToString(inputSha.digest()), file.get("sha256Hash").asText());

      String name = http.createFromFile(file.get("name").asText(), "big-job").get("name").asText();
      JsonNode[] op = new JsonNode[1];
      Await.until(
          () -> (op[0] = http.operation(name)).path("done").asBoolean(false),
          Duration.ofSeconds(120),
          "the 300 MB job to end");
      assertEquals("BATCH_STATE_SUCCEEDED", op[0].get("metadata").get("state").asText(), op[0].toString());
      assertEquals(Long.toString(lines), op[0].get("metadata").get("batchStats").get("successfulRequestCount").asText());

      Path output = dir.resolve("output.jsonl");
      String result = op[0].get("response").get("responsesFile").asText();
      HttpResponse<Path> download =
          http.client.send(
              HttpRequest.newBuilder(URI.create(http.base + "/v1beta/" + result + ":download?alt=media"))
                  .header("x-goog-api-key", Http.KEY)
                  .build(),
              HttpResponse.BodyHandlers.ofFile(output));
      assertEquals(200, download.statusCode());
      assertTrue(Files.size(output) > TARGET_BYTES, "the result is at least as large as the input");

      long read = 0;
      try (BufferedReader r = Files.newBufferedReader(output, StandardCharsets.UTF_8)) {
        String line;
        while ((line = r.readLine()) != null) {
          if (read % 10_000 == 0) {
            JsonNode n = Http.JSON.readTree(line);
            assertEquals("k" + read, n.get("key").asText());
            assertEquals(
                EmulatorResponder.ANSWER_PREFIX + prompt(read),
                n.get("response").get("candidates").get(0).get("content").get("parts").get(0).get("text").asText());
          } else {
            assertEquals("k" + read, lastKey(line));
          }
          read++;
        }
      }
      assertEquals(lines, read);
      assertTrue(emulator.isAlive(), "the 64 MB emulator survived: " + Files.readString(stderr));
    } finally {
      EmulatorMainTest.stop(emulator);
    }
  }

  /** The "key" of a result line, read without building a tree. */
  private static String lastKey(String line) throws IOException {
    try (JsonParser p = Http.JSON.getFactory().createParser(line)) {
      p.nextToken();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("key")) {
          return p.getText();
        }
        p.skipChildren();
      }
    }
    return null;
  }
}
