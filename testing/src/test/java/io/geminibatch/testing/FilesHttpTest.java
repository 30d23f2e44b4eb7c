package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The Files API over raw HTTP: the resumable upload protocol, get/list/delete and downloads. */
class FilesHttpTest {
  @RegisterExtension static final GeminiEmulatorExtension EMU = GeminiEmulatorExtension.builder().build();

  private static final int MIB = 1024 * 1024;

  private static Http http() {
    return new Http(EMU.emulator().baseUrl());
  }

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void startAnswersAnAbsoluteUploadUrlOnTheSameHostAndActiveThenFinal() {
    Http http = http();
    byte[] data = randomBytes(1000, 1);
    String url = http.startUpload(data.length, "{\"displayName\": \"three chunks\"}");
    assertTrue(url.startsWith(EMU.emulator().baseUrl() + "/upload/v1beta/files?"), url);

    Http.Reply first = http.chunk(url, Arrays.copyOfRange(data, 0, 300), 0, false).ok();
    assertEquals("active", first.header("x-goog-upload-status"));
    Http.Reply query = http.send("POST", url, null, "X-Goog-Upload-Command", "query").ok();
    assertEquals("active", query.header("x-goog-upload-status"));
    assertEquals("300", query.header("x-goog-upload-size-received"));

    Http.Reply mismatch = http.chunk(url, Arrays.copyOfRange(data, 300, 600), 200, false);
    String message = mismatch.error(400, "INVALID_ARGUMENT").get("message").asText();
    assertTrue(message.contains("200") && message.contains("300"), message);

    http.chunk(url, Arrays.copyOfRange(data, 300, 600), 300, false).ok();
    Http.Reply last = http.chunk(url, Arrays.copyOfRange(data, 600, 1000), 600, true).ok();
    assertEquals("final", last.header("x-goog-upload-status"));
    JsonNode file = last.json().get("file");
    assertEquals("1000", file.get("sizeBytes").asText());

    Http.Reply after = http.send("POST", url, null, "X-Goog-Upload-Command", "query").ok();
    assertEquals("final", after.header("x-goog-upload-status"));
    assertEquals("1000", after.header("x-goog-upload-size-received"));
    assertEquals(file, after.json().get("file"));
  }

  @Test
  void fileResourceHasTheLiveFields() throws Exception {
    Http http = http();
    byte[] data = "{\"key\": \"1\", \"request\": {}}\n".getBytes(StandardCharsets.UTF_8);
    JsonNode file = http.upload(data, "shape");
    String name = file.get("name").asText();
    assertTrue(name.matches("files/[a-z0-9]{12}"), name);
    assertEquals("shape", file.get("displayName").asText());
    assertEquals("application/jsonl", file.get("mimeType").asText());
    assertTrue(file.get("sizeBytes").isTextual());
    assertEquals(Integer.toString(data.length), file.get("sizeBytes").asText());
    assertEquals("ACTIVE", file.get("state").asText());
    assertEquals("UPLOADED", file.get("source").asText());
    assertEquals(EMU.emulator().baseUrl() + "/v1beta/" + name, file.get("uri").asText());
    assertFalse(file.has("downloadUri"), "uploaded files have no downloadUri");
    assertEquals(
        Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(data)),
        file.get("sha256Hash").asText());
    String created = file.get("createTime").asText();
    assertTrue(created.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z"), created);
    assertEquals(
        Instant.parse(created).plus(Duration.ofHours(48)),
        Instant.parse(file.get("expirationTime").asText()));
    assertEquals(file, http.get("/v1beta/" + name).ok().json());
    assertEquals(file, http.get("/v1/" + name).ok().json());
  }

  @Test
  void sixteenMibUploadsAsTwoEightMibChunks() throws Exception {
    // Exact multiples of 8 MiB are what the Java SDK 2.0.0 cannot upload (contract §6.1); the
    // protocol itself handles them.
    Http http = http();
    byte[] data = randomBytes(16 * MIB, 2);
    String url = http.startUpload(data.length, null);
    assertEquals("active", http.chunk(url, Arrays.copyOfRange(data, 0, 8 * MIB), 0, false).ok().header("x-goog-upload-status"));
    Http.Reply fin = http.chunk(url, Arrays.copyOfRange(data, 8 * MIB, 16 * MIB), 8 * MIB, true).ok();
    JsonNode file = fin.json().get("file");
    assertEquals(Integer.toString(16 * MIB), file.get("sizeBytes").asText());
    assertEquals(
        Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(data)),
        file.get("sha256Hash").asText());
    assertArrayEquals(data, http.get("/v1beta/" + file.get("name").asText() + ":download?alt=media").ok().body);
  }

  @Test
  void emptyUploadsAreRejected() {
    Http http = http();
    Http.Reply declaredEmpty =
        http.call(
            "POST", "/upload/v1beta/files", "{}",
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start",
            "X-Goog-Upload-Header-Content-Length", "0");
    assertTrue(declaredEmpty.error(400, "INVALID_ARGUMENT").get("message").asText().contains("empty"));
    Http.Reply start =
        http.call(
            "POST", "/upload/v1beta/files", "",
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start");
    Http.Reply finalizedEmpty = http.chunk(start.ok().header("x-goog-upload-url"), new byte[0], 0, true);
    assertTrue(finalizedEmpty.error(400, "INVALID_ARGUMENT").get("message").asText().contains("empty"));
  }

  @Test
  void requestedFileNamesAreValidatedAndUnique() {
    Http http = http();
    byte[] data = "x".getBytes(StandardCharsets.UTF_8);
    String url = http.startUpload(1, "{\"name\": \"files/my-input-1\"}");
    assertEquals("files/my-input-1", http.chunk(url, data, 0, true).ok().json().get("file").get("name").asText());
    url = http.startUpload(1, "{\"name\": \"my-input-2\"}");
    assertEquals("files/my-input-2", http.chunk(url, data, 0, true).ok().json().get("file").get("name").asText());
    for (String bad : new String[] {"Bad_Name", "-dash", "dash-", "a".repeat(41)}) {
      Http.Reply r =
          http.call(
              "POST", "/upload/v1beta/files", "{\"file\": {\"name\": \"" + bad + "\"}}",
              "X-Goog-Upload-Protocol", "resumable",
              "X-Goog-Upload-Command", "start",
              "X-Goog-Upload-Header-Content-Length", "1");
      assertTrue(r.error(400, "INVALID_ARGUMENT").get("message").asText().contains(bad), r.text());
    }
    Http.Reply taken =
        http.call(
            "POST", "/upload/v1beta/files", "{\"file\": {\"name\": \"files/my-input-1\"}}",
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start",
            "X-Goog-Upload-Header-Content-Length", "1");
    taken.error(409, "ALREADY_EXISTS");
  }

  @Test
  void nodeStyleStartBodyAndJsonContentTypeOnRawChunksAreAccepted() {
    Http http = http();
    byte[] data = "not { json at all".getBytes(StandardCharsets.UTF_8);
    Http.Reply start =
        http.call(
            "POST", "/upload/v1/files",
            "{\"file\": {\"mimeType\": \"jsonl\", \"displayName\": \"node\", \"sizeBytes\": \"" + data.length + "\"}}",
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start",
            "X-Goog-Upload-Header-Content-Length", Integer.toString(data.length),
            "X-Goog-Upload-Header-Content-Type", "jsonl",
            "X-Goog-Upload-File-Name", "input.jsonl",
            "Content-Type", "application/json");
    String url = start.ok().header("x-goog-upload-url");
    assertTrue(url.contains("/upload/v1/files?"), url);
    Http.Reply fin =
        http.send(
            "POST", url, data,
            "x-goog-api-key", Http.KEY,
            "X-Goog-Upload-Command", "upload, finalize",
            "X-Goog-Upload-Offset", "0",
            "Content-Type", "application/json");
    JsonNode file = fin.ok().json().get("file");
    assertEquals("jsonl", file.get("mimeType").asText());
    assertEquals(Integer.toString(data.length), file.get("sizeBytes").asText());
  }

  @Test
  void downloadsServeBothPathsAndRanges() {
    Http http = http();
    byte[] data = randomBytes(100_000, 3);
    String name = http.upload(data, "ranged").get("name").asText();
    String path = "/v1beta/" + name + ":download?alt=media";
    Http.Reply whole = http.get(path).ok();
    assertArrayEquals(data, whole.body);
    assertEquals("bytes", whole.header("accept-ranges"));
    assertArrayEquals(data, http.get("/download" + path).ok().body);

    Http.Reply tail = http.call("GET", path, null, "Range", "bytes=99000-");
    assertEquals(206, tail.code);
    assertEquals("bytes 99000-99999/100000", tail.header("content-range"));
    assertArrayEquals(Arrays.copyOfRange(data, 99000, 100000), tail.body);
    Http.Reply middle = http.call("GET", "/download" + path, null, "Range", "bytes=10-19");
    assertEquals(206, middle.code);
    assertArrayEquals(Arrays.copyOfRange(data, 10, 20), middle.body);
    Http.Reply beyond = http.call("GET", path, null, "Range", "bytes=100000-");
    assertEquals(416, beyond.code);
    assertEquals("bytes */100000", beyond.header("content-range"));
    http.get("/v1beta/" + name + ":download").error(400, "INVALID_ARGUMENT");
    assertEquals(2 * 100_000 + 1000 + 10, EMU.emulator().stats().bytesDownloaded());
  }

  @Test
  void listPagesFilesAndDeleteRemovesThem() {
    Http http = http();
    Set<String> mine = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      mine.add(http.upload("f" + i, "list-" + i).get("name").asText());
    }
    Set<String> listed = new HashSet<>();
    String token = null;
    do {
      JsonNode page =
          http.get("/v1beta/files?pageSize=2" + (token == null ? "" : "&pageToken=" + token)).ok().json();
      assertTrue(page.get("files").size() <= 2);
      page.get("files").forEach(f -> listed.add(f.get("name").asText()));
      token = page.has("nextPageToken") ? page.get("nextPageToken").asText() : null;
    } while (token != null);
    assertTrue(listed.containsAll(mine), listed + " ⊇ " + mine);
    for (String name : mine) {
      assertEquals("{}", http.call("DELETE", "/v1beta/" + name, null).ok().text().trim());
      http.get("/v1beta/" + name).error(404, "NOT_FOUND");
    }
    http.get("/v1beta/files?pageToken=bogus").error(400, "INVALID_ARGUMENT");
    assertNull(http.get("/v1beta/files/nope").json().get("files"));
  }
}
