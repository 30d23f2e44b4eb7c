package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/** A small raw-HTTP client for the tests: what SDKs hide (status lines, headers, bytes). */
final class Http {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String KEY = "test-key";

  final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  final String base;

  Http(String base) {
    this.base = base;
  }

  /** A reply, read whole. */
  static final class Reply {
    final int code;
    final HttpHeaders headers;
    final byte[] body;

    Reply(int code, HttpHeaders headers, byte[] body) {
      this.code = code;
      this.headers = headers;
      this.body = body;
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException("not JSON: " + text(), e);
      }
    }

    String header(String name) {
      return headers.firstValue(name).orElse(null);
    }

    /** Asserts the Google error shape and returns the error object. */
    JsonNode error(int expectedCode, String expectedStatus) {
      assertEquals(expectedCode, code, text());
      JsonNode e = json().get("error");
      assertEquals(expectedCode, e.get("code").asInt(), text());
      assertEquals(expectedStatus, e.get("status").asText(), text());
      return e;
    }

    Reply ok() {
      assertEquals(200, code, text());
      return this;
    }
  }

  Reply send(String method, String pathOrUrl, byte[] body, String... headers) {
    String url = pathOrUrl.startsWith("http") ? pathOrUrl : base + pathOrUrl;
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    try {
      HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Reply(r.statusCode(), r.headers(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A call with the test API key in the x-goog-api-key header. */
  Reply call(String method, String path, String jsonBody, String... headers) {
    String[] all = Arrays.copyOf(headers, headers.length + 2);
    all[headers.length] = "x-goog-api-key";
    all[headers.length + 1] = KEY;
    return send(method, path, jsonBody == null ? null : jsonBody.getBytes(StandardCharsets.UTF_8), all);
  }

  Reply get(String path) {
    return call("GET", path, null);
  }

  Reply post(String path, String json) {
    return call("POST", path, json, "Content-Type", "application/json");
  }

  /** Starts a resumable upload and returns the upload URL. */
  String startUpload(long size, String fileJson) {
    Reply r =
        call(
            "POST",
            "/upload/v1beta/files",
            fileJson == null ? "" : "{\"file\": " + fileJson + "}",
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start",
            "X-Goog-Upload-Header-Content-Length", Long.toString(size),
            "X-Goog-Upload-Header-Content-Type", "application/jsonl",
            "Content-Type", "application/json");
    r.ok();
    return r.header("x-goog-upload-url");
  }

  Reply chunk(String uploadUrl, byte[] bytes, long offset, boolean finalize) {
    return send(
        "POST",
        uploadUrl,
        bytes,
        "x-goog-api-key", KEY,
        "X-Goog-Upload-Command", finalize ? "upload, finalize" : "upload",
        "X-Goog-Upload-Offset", Long.toString(offset),
        "Content-Type", "application/octet-stream");
  }

  /** Uploads {@code bytes} in one chunk and returns the File resource. */
  JsonNode upload(byte[] bytes, String displayName) {
    String url = startUpload(bytes.length, "{\"displayName\": \"" + displayName + "\"}");
    Reply r = chunk(url, bytes, 0, true).ok();
    assertEquals("final", r.header("x-goog-upload-status"));
    return r.json().get("file");
  }

  JsonNode upload(String text, String displayName) {
    return upload(text.getBytes(StandardCharsets.UTF_8), displayName);
  }

  /** Creates a generate batch from an uploaded file; returns the Operation. */
  JsonNode createFromFile(String fileName, String displayName) {
    return post(
            "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
            "{\"batch\": {\"displayName\": \"" + displayName + "\", \"inputConfig\": {\"fileName\": \""
                + fileName + "\"}}}")
        .ok()
        .json();
  }

  /** Creates an inline generate batch with one request per prompt, metadata {"key": "k<i>"}. */
  JsonNode createInline(String displayName, String... prompts) {
    return post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", inlineBody(displayName, prompts))
        .ok()
        .json();
  }

  static String inlineBody(String displayName, String... prompts) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < prompts.length; i++) {
      sb.append(i == 0 ? "" : ", ")
          .append("{\"request\": ")
          .append(request(prompts[i]))
          .append(", \"metadata\": {\"key\": \"k")
          .append(i)
          .append("\"}}");
    }
    return "{\"batch\": {\"displayName\": \"" + displayName
        + "\", \"inputConfig\": {\"requests\": {\"requests\": [" + sb + "]}}}}";
  }

  /** A GenerateContentRequest with one user text. */
  static String request(String prompt) {
    return "{\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": " + quote(prompt) + "}]}]}";
  }

  static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  JsonNode operation(String name) {
    return get("/v1beta/" + name).ok().json();
  }

  /** Polls the job until {@code done}, and returns its Operation. */
  JsonNode awaitDone(String name) {
    JsonNode[] last = new JsonNode[1];
    Await.until(
        () -> {
          last[0] = operation(name);
          return last[0].path("done").asBoolean(false);
        },
        Duration.ofSeconds(30),
        name + " to be done");
    return last[0];
  }

}
