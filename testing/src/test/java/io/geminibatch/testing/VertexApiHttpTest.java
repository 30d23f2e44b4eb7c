package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.vertex.VertexFaults;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The emulator's Vertex AI batch prediction API over raw HTTP, as the documented curl flow uses it. */
class VertexApiHttpTest {
  private static final String JOBS = "/v1/projects/test-project/locations/us-central1/batchPredictionJobs";
  private static final String MODEL = "publishers/google/models/gemini-2.5-flash";
  private static final String[] BEARER = {"Authorization", "Bearer test-token", "Content-Type", "application/json"};

  private GeminiEmulator emulator;
  private Http http;

  @BeforeEach
  void start() throws IOException {
    emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(60)).start();
    emulator.storage().ensureBucket("bkt");
    http = new Http(emulator.baseUrl());
  }

  @AfterEach
  void stop() {
    emulator.close();
  }

  private Http.Reply vertex(String method, String path, String json) {
    return http.send(method, path, json == null ? null : json.getBytes(StandardCharsets.UTF_8), BEARER);
  }

  private void put(String name, String content) throws IOException {
    emulator.storage().putObject("bkt", name, new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)));
  }

  private String read(String bucket, String name) throws IOException {
    try (InputStream in = emulator.storage().openObject(bucket, name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static String createBody(String displayName, String model, String input, String output) {
    return "{\"displayName\": " + Http.quote(displayName) + ", \"model\": " + Http.quote(model)
        + ", \"inputConfig\": {\"instancesFormat\": \"jsonl\", \"gcsSource\": {\"uris\": [" + Http.quote(input) + "]}},"
        + " \"outputConfig\": {\"predictionsFormat\": \"jsonl\", \"gcsDestination\": {\"outputUriPrefix\": "
        + Http.quote(output) + "}}}";
  }

  private JsonNode awaitState(String name, String state) {
    JsonNode[] last = new JsonNode[1];
    Await.until(() -> {
      last[0] = vertex("GET", "/v1/" + name, null).ok().json();
      return last[0].path("state").asText().equals(state);
    }, Duration.ofSeconds(20), name + " to be " + state);
    return last[0];
  }

  /** n input lines {"key": "id-i", "request": ...}, then one without contents. */
  private static String input(int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append("{\"key\": \"id-").append(i).append("\", \"request\": ").append(Http.request("prompt " + i)).append("}\n");
    }
    sb.append("{\"key\": \"bad\", \"request\": {\"generationConfig\": {}}}\n");
    return sb.toString();
  }

  @Test
  void callWithoutBearerTokenIsUnauthenticated() {
    Http.Reply r = http.send("GET", JOBS, null);
    assertEquals(401, r.code);
    assertEquals("UNAUTHENTICATED", r.json().path("error").path("status").asText());
    assertEquals(401, r.json().path("error").path("code").asInt());
    Http.Reply withKey = http.get(JOBS); // an API key is no OAuth token
    assertEquals(401, withKey.code);
  }

  @Test
  void jobAnswersEveryLineInAShuffledPredictionsFile() throws IOException {
    int n = 30;
    put("in/requests.jsonl", input(n));
    JsonNode created =
        vertex("POST", JOBS, createBody("job-1", MODEL, "gs://bkt/in/requests.jsonl", "gs://bkt/out")).ok().json();
    String name = created.path("name").asText();
    assertTrue(name.matches("projects/test-project/locations/us-central1/batchPredictionJobs/[0-9]+"), name);
    assertEquals("JOB_STATE_PENDING", created.path("state").asText());
    assertTrue(created.path("outputInfo").isMissingNode());
    assertTrue(created.path("completionStats").isMissingNode());

    JsonNode done = awaitState(name, "JOB_STATE_SUCCEEDED");
    String dir = done.path("outputInfo").path("gcsOutputDirectory").asText();
    assertEquals("gs://bkt/out/prediction-model-" + done.path("createTime").asText(), dir);
    assertEquals("30", done.path("completionStats").path("successfulCount").asText());
    assertEquals("1", done.path("completionStats").path("failedCount").asText());

    String[] rows = read("bkt", dir.substring("gs://bkt/".length()) + "/predictions.jsonl").split("\n");
    assertEquals(n + 1, rows.length);
    List<String> order = new ArrayList<>();
    for (String row : rows) {
      JsonNode r = Http.JSON.readTree(row);
      String key = r.path("key").asText();
      order.add(key);
      assertTrue(r.path("processed_time").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+00:00"));
      if (key.equals("bad")) {
        assertTrue(r.path("status").asText().startsWith("Bad Request: {\"error\":"), row);
        assertEquals(Http.JSON.readTree("{}"), r.path("response"));
        continue;
      }
      assertEquals("", r.path("status").asText());
      String request = Http.JSON.writeValueAsString(r.path("request"));
      assertEquals(Http.JSON.readTree(Http.request("prompt " + key.substring(3))), r.path("request"));
      assertEquals(Http.JSON.readTree(EmulatorResponder.generateContentResponse(request, "gemini-2.5-flash")),
          r.path("response"));
    }
    List<String> sorted = new ArrayList<>(order);
    sorted.sort((a, b) -> a.equals("bad") ? 1 : b.equals("bad") ? -1
        : Integer.compare(Integer.parseInt(a.substring(3)), Integer.parseInt(b.substring(3))));
    assertNotEquals(sorted, order, "rows come back in no particular order");
    assertEquals(n + 1, order.stream().distinct().count());
  }

  @Test
  void createChecksModelAndConfigs() {
    Http.Reply unknown = vertex("POST", JOBS, createBody("j", "not a model name", "gs://bkt/a", "gs://bkt/o"));
    assertEquals(400, unknown.code, unknown.text());
    Http.Reply missingModel =
        vertex("POST", JOBS, createBody("j", "publishers/google/models/palm-2", "gs://bkt/a", "gs://bkt/o"));
    assertEquals(404, missingModel.code);
    assertEquals("The PublisherModel palm-2 does not exist.", missingModel.json().path("error").path("message").asText());
    Http.Reply noName = vertex("POST", JOBS, createBody("", MODEL, "gs://bkt/a", "gs://bkt/o"));
    assertEquals(400, noName.code);
    assertTrue(noName.json().path("error").path("message").asText().contains("batch_prediction_job.display_name"));
    Http.Reply notGs = vertex("POST", JOBS, createBody("j", MODEL, "/tmp/a.jsonl", "gs://bkt/o"));
    assertEquals(400, notGs.code);
    assertEquals("INVALID_ARGUMENT", notGs.json().path("error").path("status").asText());
    assertEquals(0, emulator.vertex().jobsCreated());
  }

  @Test
  void missingInputFailsTheJobAfterCreate() {
    String name = vertex("POST", JOBS, createBody("j", MODEL, "gs://bkt/none.jsonl", "gs://bkt/o")).ok().json()
        .path("name").asText();
    JsonNode failed = awaitState(name, "JOB_STATE_FAILED");
    assertEquals(3, failed.path("error").path("code").asInt());
  }

  @Test
  void listFiltersByStateAndPages() throws IOException {
    put("in/a.jsonl", input(2));
    emulator.setJobLatency(Duration.ofMinutes(5));
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      names.add(vertex("POST", JOBS, createBody("job-" + i, MODEL, "gs://bkt/in/a.jsonl", "gs://bkt/o")).ok().json()
          .path("name").asText());
    }
    assertEquals("{}", vertex("POST", "/v1/" + names.get(1) + ":cancel", "{}").ok().json().toString());
    awaitState(names.get(1), "JOB_STATE_CANCELLED");

    JsonNode first = vertex("GET", JOBS + "?pageSize=2", null).ok().json();
    assertEquals(2, first.path("batchPredictionJobs").size());
    String token = first.path("nextPageToken").asText();
    assertFalse(token.isEmpty());
    JsonNode second = vertex("GET", JOBS + "?pageSize=2&pageToken=" + token, null).ok().json();
    assertEquals(1, second.path("batchPredictionJobs").size());
    assertTrue(second.path("nextPageToken").isMissingNode());

    JsonNode cancelled = vertex("GET", JOBS + "?filter=state%3D%22JOB_STATE_CANCELLED%22", null).ok().json();
    assertEquals(1, cancelled.path("batchPredictionJobs").size());
    assertEquals(names.get(1), cancelled.path("batchPredictionJobs").get(0).path("name").asText());
    assertEquals(1, cancelled.path("batchPredictionJobs").get(0).path("error").path("code").asInt());
    JsonNode byName = vertex("GET", JOBS + "?filter=display_name%3D%22job-2%22%20AND%20state!%3D%22JOB_STATE_CANCELLED%22", null)
        .ok().json();
    assertEquals(names.get(2), byName.path("batchPredictionJobs").get(0).path("name").asText());
    assertEquals(1, byName.path("batchPredictionJobs").size());

    Http.Reply running = vertex("DELETE", "/v1/" + names.get(0), null);
    assertEquals(400, running.code);
    assertEquals("FAILED_PRECONDITION", running.json().path("error").path("status").asText());
    assertEquals(400, vertex("POST", "/v1/" + names.get(1) + ":cancel", "{}").code, "a cancelled job cannot be cancelled");
    JsonNode op = vertex("DELETE", "/v1/" + names.get(1), null).ok().json();
    assertTrue(op.path("done").asBoolean());
    assertTrue(op.path("name").asText().startsWith("projects/test-project/locations/us-central1/operations/"));
    assertEquals(404, vertex("GET", "/v1/" + names.get(1), null).code);
  }

  @Test
  void faultsCoerceNumericKeysDuplicateRowsAndFailJobs() throws IOException {
    put("in/n.jsonl", "{\"key\": \"000123\", \"request\": " + Http.request("x") + "}\n"
        + "{\"key\": \"k-000124\", \"request\": " + Http.request("y") + "}\n");
    emulator.vertex().setVertexFaults(new VertexFaults(1.0, true));
    String name = vertex("POST", JOBS, createBody("j", MODEL, "gs://bkt/in/n.jsonl", "gs://bkt/o/")).ok().json()
        .path("name").asText();
    String dir = awaitState(name, "JOB_STATE_SUCCEEDED").path("outputInfo").path("gcsOutputDirectory").asText();
    Map<String, Integer> keys = new HashMap<>();
    for (String row : read("bkt", dir.substring("gs://bkt/".length()) + "/predictions.jsonl").split("\n")) {
      JsonNode key = Http.JSON.readTree(row).path("key");
      keys.merge(key.isNumber() ? "number " + key.asLong() : key.asText(), 1, Integer::sum);
    }
    assertEquals(Map.of("number 123", 2, "k-000124", 2), keys);

    emulator.vertex().setVertexFaults(VertexFaults.none());
    emulator.setFaults(Faults.builder().jobFailureRate(1).build());
    String failing = vertex("POST", JOBS, createBody("f", MODEL, "gs://bkt/in/n.jsonl", "gs://bkt/o")).ok().json()
        .path("name").asText();
    assertEquals(13, awaitState(failing, "JOB_STATE_FAILED").path("error").path("code").asInt());
    emulator.setFaults(Faults.builder().throttleRate(1).build());
    Http.Reply throttled = vertex("GET", JOBS, null);
    assertEquals(429, throttled.code);
    assertEquals("1", throttled.header("Retry-After"));
  }
}
