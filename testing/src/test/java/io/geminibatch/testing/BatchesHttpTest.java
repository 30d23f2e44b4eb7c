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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The batch endpoints over raw HTTP: what SDKs hide (wire names, int64 strings, omissions). */
class BatchesHttpTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder().jobLatency(Duration.ZERO).build();

  private static final String TIME = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z";

  private static Http http() {
    return new Http(EMU.emulator().baseUrl());
  }

  private static String id(JsonNode op) {
    return op.get("name").asText().substring("batches/".length());
  }

  @Test
  void createRepliesWithAPendingOperationAsTheLiveApi() {
    EMU.emulator().setJobLatency(Duration.ofMinutes(5));
    Http http = http();
    JsonNode file =
        http.upload(
            "{\"key\": \"1\", \"request\": " + Http.request("a") + "}\n"
                + "{\"key\": \"2\", \"request\": " + Http.request("b") + "}\n\n"
                + "{\"key\": \"3\", \"request\": " + Http.request("c") + "}",
            "in");
    JsonNode op = http.createFromFile(file.get("name").asText(), "pending-job");

    assertTrue(op.get("name").asText().matches("batches/[a-z0-9]{36}"), op.toString());
    JsonNode md = op.get("metadata");
    assertEquals(
        "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
        md.get("@type").asText());
    assertEquals("models/gemini-2.5-flash", md.get("model").asText());
    assertEquals("pending-job", md.get("displayName").asText());
    assertEquals(file.get("name").asText(), md.get("inputConfig").get("fileName").asText());
    assertTrue(md.get("createTime").asText().matches(TIME), md.toString());
    assertTrue(md.get("updateTime").asText().matches(TIME), md.toString());
    assertTrue(md.get("batchStats").get("requestCount").isTextual(), "int64 as a JSON string");
    assertEquals("3", md.get("batchStats").get("requestCount").asText(), "blank lines are no requests");
    assertEquals("3", md.get("batchStats").get("pendingRequestCount").asText());
    assertFalse(md.get("batchStats").has("successfulRequestCount"), "zero counts are omitted");
    assertFalse(md.get("batchStats").has("failedRequestCount"));
    assertEquals("BATCH_STATE_PENDING", md.get("state").asText());
    assertEquals(op.get("name").asText(), md.get("name").asText());
    for (String absent : new String[] {"done", "response", "error"}) {
      assertFalse(op.has(absent), absent + " must be absent while not terminal: " + op);
    }
    assertFalse(md.has("output"));
    assertFalse(md.has("endTime"));
    http.post("/v1beta/" + op.get("name").asText() + ":cancel", "").ok();
  }

  @Test
  void fileJobSucceedsWithOutputInBothPlacesAndPredictableLines() throws Exception {
    Http http = http();
    String req1 =
        "{\"systemInstruction\": {\"parts\": [{\"text\": \"be brief\"}]}, \"contents\": ["
            + "{\"role\": \"user\", \"parts\": [{\"text\": \"first \"}, {\"text\": \"turn\"}]},"
            + "{\"role\": \"model\", \"parts\": [{\"text\": \"ok\"}]},"
            + "{\"role\": \"user\", \"parts\": [{\"text\": \"Why is the sky \"}, {\"text\": \"blue?\"}]}],"
            + " \"generationConfig\": {\"temperature\": 0.2}}";
    String input =
        "{\"key\": \"a\", \"request\": " + req1 + "}\n"
            + "{\"request\": {\"contents\": []}, \"key\": \"b\"}\n"
            + "{\"key\": 7, \"request\": " + Http.request("héllo wörld") + "}\n"
            + "{'key': 'single', 'request': {'contents': [{'parts': [{'text': 'quoted \\\"x\\\"'}]}]}}\n"
            + "{\"key\": \"escaped\", \"request\": " + Http.request("tab\tquote\" nl\n é 😀") + "}\n"
            + "{\"key\": \"broken\", \"request\": {\"contents\": [{\"parts\": [{\"text\": \"unterminated\n";
    JsonNode file = http.upload(input, "input");
    JsonNode created = http.createFromFile(file.get("name").asText(), "file-job");
    JsonNode op = http.awaitDone(created.get("name").asText());

    JsonNode md = op.get("metadata");
    assertTrue(op.get("done").asBoolean());
    assertEquals("BATCH_STATE_SUCCEEDED", md.get("state").asText());
    assertTrue(md.get("endTime").asText().matches(TIME));
    assertEquals("6", md.get("batchStats").get("requestCount").asText());
    assertEquals("4", md.get("batchStats").get("successfulRequestCount").asText());
    assertEquals("2", md.get("batchStats").get("failedRequestCount").asText());
    assertFalse(md.get("batchStats").has("pendingRequestCount"));
    String resultName = "files/batch-" + id(op);
    assertEquals(resultName, md.get("output").get("responsesFile").asText());
    assertEquals(
        "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
        op.get("response").get("@type").asText());
    assertEquals(resultName, op.get("response").get("responsesFile").asText());
    assertFalse(op.has("error"));

    Http.Reply download = http.get("/v1beta/" + resultName + ":download?alt=media").ok();
    Http.Reply prefixed = http.get("/download/v1beta/" + resultName + ":download?alt=media").ok();
    assertArrayEquals(download.body, prefixed.body, "both download paths serve the same bytes");
    String[] lines = download.text().split("\n");
    assertEquals(6, lines.length, "one result line per input line");
    JsonNode a = Http.JSON.readTree(lines[0]);
    assertEquals("a", a.get("key").asText());
    assertEquals(
        Http.JSON.readTree(EmulatorResponder.generateContentResponse(req1, "models/gemini-2.5-flash")),
        a.get("response"));
    assertEquals("echo: Why is the sky blue?", EmulatorResponder.generateText(req1));
    JsonNode usage = a.get("response").get("usageMetadata");
    long promptChars = "be brief".length() + "first turn".length() + 2 + "Why is the sky blue?".length();
    assertEquals((promptChars + 3) / 4, usage.get("promptTokenCount").asLong());
    assertEquals("gemini-2.5-flash", a.get("response").get("modelVersion").asText());
    JsonNode b = Http.JSON.readTree(lines[1]);
    assertEquals("b", b.get("key").asText());
    assertEquals(3, b.get("error").get("code").asInt());
    assertEquals(EmulatorResponder.MISSING_CONTENTS_MESSAGE, b.get("error").get("message").asText());
    JsonNode c = Http.JSON.readTree(lines[2]);
    assertTrue(c.get("key").isInt(), "a key is echoed as the JSON value it was");
    assertEquals(
        "echo: héllo wörld",
        c.get("response").get("candidates").get(0).get("content").get("parts").get(0).get("text").asText());

    JsonNode single = Http.JSON.readTree(lines[3]);
    assertEquals("single", single.get("key").asText(), "single-quoted lines are read as the front end does");
    assertEquals("echo: quoted \"x\"", text(single));
    JsonNode escaped = Http.JSON.readTree(lines[4]);
    assertEquals("echo: tab\tquote\" nl\n é 😀", text(escaped));
    assertEquals(
        Http.JSON.readTree(
            EmulatorResponder.generateContentResponse(Http.request("tab\tquote\" nl\n é 😀"), "gemini-2.5-flash")),
        escaped.get("response"));
    JsonNode broken = Http.JSON.readTree(lines[5]);
    assertEquals("broken", broken.get("key").asText(), "the key read before the error is kept");
    assertEquals(3, broken.get("error").get("code").asInt());
    assertTrue(broken.get("error").get("message").asText().startsWith("Invalid JSON"), broken.toString());

    JsonNode resultFile = http.get("/v1beta/" + resultName).ok().json();
    assertEquals("GENERATED", resultFile.get("source").asText());
    assertEquals("ACTIVE", resultFile.get("state").asText());
    assertEquals(Long.toString(download.body.length), resultFile.get("sizeBytes").asText());
    assertEquals(
        Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(download.body)),
        resultFile.get("sha256Hash").asText());
    assertEquals(
        EMU.emulator().baseUrl() + "/download/v1beta/" + resultName + ":download?alt=media",
        resultFile.get("downloadUri").asText());
  }

  @Test
  void inlineJobAnswersInBothPlacesWithMetadataInOrder() {
    Http http = http();
    JsonNode created = http.createInline("inline-job", "one", "two", "three");
    assertFalse(created.get("metadata").has("inputConfig"), "inline input is not echoed");
    JsonNode op = http.awaitDone(created.get("name").asText());
    JsonNode fromMetadata = op.get("metadata").get("output").get("inlinedResponses").get("inlinedResponses");
    JsonNode fromResponse = op.get("response").get("inlinedResponses").get("inlinedResponses");
    assertEquals(fromMetadata, fromResponse);
    String[] prompts = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
      JsonNode r = fromMetadata.get(i);
      assertEquals("k" + i, r.get("metadata").get("key").asText());
      assertEquals(
          readTree(EmulatorResponder.generateContentResponse(Http.request(prompts[i]), "gemini-2.5-flash")),
          r.get("response"));
    }
    assertEquals("3", op.get("metadata").get("batchStats").get("successfulRequestCount").asText());
  }

  private static String text(JsonNode resultLine) {
    return resultLine.get("response").get("candidates").get(0).get("content").get("parts").get(0).get("text").asText();
  }

  private static JsonNode readTree(String json) {
    try {
      return Http.JSON.readTree(json);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void snakeCaseBodiesAndTheKeyQueryParameterAreAccepted() {
    Http http = http();
    byte[] bytes =
        ("{\"key\": \"s\", \"request\": {\"contents\": [{\"parts\": [{\"text\": \"snake\"}]}],"
                + " \"generation_config\": {\"max_output_tokens\": 5}}}\n")
            .getBytes(StandardCharsets.UTF_8);
    // Python's upload start body: snake_case, size as a number; no header, the key in ?key=.
    Http.Reply start =
        http.send(
            "POST",
            "/upload/v1beta/files?key=" + Http.KEY,
            ("{\"file\": {\"display_name\": \"py\", \"mime_type\": \"application/jsonl\", \"size_bytes\": "
                    + bytes.length + "}}")
                .getBytes(StandardCharsets.UTF_8),
            "X-Goog-Upload-Protocol", "resumable",
            "X-Goog-Upload-Command", "start");
    start.ok();
    Http.Reply done =
        http.send(
            "POST",
            start.header("x-goog-upload-url"),
            bytes,
            "X-Goog-Upload-Command", "upload, finalize",
            "X-Goog-Upload-Offset", "0");
    JsonNode file = done.ok().json().get("file");
    assertEquals("application/jsonl", file.get("mimeType").asText());
    assertEquals("py", file.get("displayName").asText());
    // The guide's curl body: snake_case and single-quoted pseudo-JSON.
    Http.Reply created =
        http.send(
            "POST",
            "/v1beta/models/gemini-2.5-flash:batchGenerateContent?key=" + Http.KEY,
            ("{'batch': {'display_name': 'snake', 'input_config': {'file_name': '"
                    + file.get("name").asText() + "'}}}")
                .getBytes(StandardCharsets.UTF_8),
            "Content-Type", "application/jsonl");
    assertEquals("snake", created.ok().json().get("metadata").get("displayName").asText());
    JsonNode op = http.awaitDone(created.json().get("name").asText());
    assertEquals("BATCH_STATE_SUCCEEDED", op.get("metadata").get("state").asText());
    Http.Reply inline =
        http.send(
            "GET", "/v1beta/" + op.get("name").asText() + "?key=" + Http.KEY, null);
    assertEquals(200, inline.code);
  }

  @Test
  void jobsAreVisibleOnlyToTheKeyThatCreatedThem() {
    Http http = http();
    String name = http.createInline("mine", "x").get("name").asText();
    String other = "x-goog-api-key";
    http.send("GET", "/v1beta/" + name, null, other, "another-key").error(404, "NOT_FOUND");
    http.send("POST", "/v1beta/" + name + ":cancel", null, other, "another-key").error(404, "NOT_FOUND");
    http.send("DELETE", "/v1beta/" + name, null, other, "another-key").error(404, "NOT_FOUND");
    Http.Reply list = http.send("GET", "/v1beta/batches", null, other, "another-key").ok();
    assertEquals("{}", list.text().trim(), "an empty list is {}");
    http.get("/v1beta/" + name).ok();
  }

  @Test
  void listPagesNewestFirstAndOmitsTheTokenOnTheLastPage() {
    Http http = http();
    String key = "pager-" + UUID.randomUUID();
    String body;
    for (int i = 0; i < 5; i++) {
      body = Http.inlineBody("p" + i, "q" + i);
      http.send(
              "POST",
              "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
              body.getBytes(StandardCharsets.UTF_8),
              "x-goog-api-key", key)
          .ok();
    }
    List<String> seen = new ArrayList<>();
    String token = null;
    int pages = 0;
    do {
      Http.Reply r =
          http.send(
                  "GET",
                  "/v1/batches?pageSize=2" + (token == null ? "" : "&pageToken=" + token),
                  null,
                  "x-goog-api-key", key)
              .ok();
      JsonNode page = r.json();
      pages++;
      for (JsonNode op : page.get("operations")) {
        seen.add(op.get("metadata").get("displayName").asText());
      }
      token = page.has("nextPageToken") ? page.get("nextPageToken").asText() : null;
      assertTrue(token == null || !token.isEmpty(), "never an empty token");
    } while (token != null);
    assertEquals(3, pages);
    assertEquals(List.of("p4", "p3", "p2", "p1", "p0"), seen, "newest first");
    JsonNode all = http.send("GET", "/v1beta/batches", null, "x-goog-api-key", key).ok().json();
    assertEquals(5, all.get("operations").size(), "default page size 50");
    assertFalse(all.has("nextPageToken"));
    http.get("/v1beta/batches?pageToken=not-a-token").error(400, "INVALID_ARGUMENT");
  }

  @Test
  void cancelEndsTheJobCancelledWithErrorCodeOne() {
    EMU.emulator().setJobLatency(Duration.ofMinutes(5));
    Http http = http();
    String name = http.createInline("to-cancel", "x").get("name").asText();
    Http.Reply cancel = http.post("/v1beta/" + name + ":cancel", "").ok();
    assertEquals("{}", cancel.text().trim());
    JsonNode op = http.operation(name);
    assertEquals("BATCH_STATE_CANCELLED", op.get("metadata").get("state").asText());
    assertTrue(op.get("done").asBoolean());
    assertEquals(1, op.get("error").get("code").asInt());
    assertTrue(op.get("error").has("message"));
    assertFalse(op.has("response"));
    assertFalse(op.get("metadata").has("output"));
    assertTrue(op.get("metadata").has("endTime"));
  }

  @Test
  void deleteRemovesTheJobButKeepsItsResultFile() {
    Http http = http();
    JsonNode file = http.upload("{\"key\": \"k\", \"request\": " + Http.request("d") + "}\n", "del");
    String name = http.createFromFile(file.get("name").asText(), "to-delete").get("name").asText();
    JsonNode op = http.awaitDone(name);
    String result = op.get("response").get("responsesFile").asText();
    assertEquals("{}", http.call("DELETE", "/v1beta/" + name, null).ok().text().trim());
    http.get("/v1beta/" + name).error(404, "NOT_FOUND");
    http.call("DELETE", "/v1beta/" + name, null).error(404, "NOT_FOUND");
    for (JsonNode o : http.get("/v1beta/batches?pageSize=1000").ok().json().path("operations")) {
      assertFalse(o.get("name").asText().equals(name), "deleted jobs are not listed");
    }
    http.get("/v1beta/" + result).ok();
    assertTrue(http.get("/v1beta/" + result + ":download?alt=media").ok().text().contains("echo: d"));
  }

  @Test
  void unfinishedJobsExpireAfterTheConfiguredTime() throws Exception {
    try (GeminiEmulator short_ =
        GeminiEmulator.builder()
            .jobLatency(Duration.ofHours(1))
            .jobExpiry(Duration.ofMillis(300))
            .start()) {
      Http http = new Http(short_.baseUrl());
      String name = http.createInline("expiring", "x").get("name").asText();
      JsonNode op = http.awaitDone(name);
      assertEquals("BATCH_STATE_EXPIRED", op.get("metadata").get("state").asText());
      assertEquals(4, op.get("error").get("code").asInt());
      assertFalse(op.has("response"));
      assertEquals(0, short_.stats().activeJobs());
    }
  }

  @Test
  void embeddingBatchesAnswerInlineAndFromFiles() throws Exception {
    Http http = http();
    String body =
        "{\"batch\": {\"display_name\": \"emb\", \"input_config\": {\"requests\": {\"requests\": ["
            + "{\"request\": {\"content\": {\"parts\": [{\"text\": \"hello\"}]}, \"taskType\": \"RETRIEVAL_DOCUMENT\"}, \"metadata\": {\"key\": \"e0\"}},"
            + "{\"request\": {\"content\": {\"parts\": [{\"text\": \"hel\"}, {\"text\": \"lo\"}]}, \"output_dimensionality\": 16}},"
            + "{\"request\": {\"content\": {\"parts\": []}}},"
            + "{\"request\": {\"content\": {\"parts\": [{\"text\": \"x\"}]}, \"outputDimensionality\": 4000}}"
            + "]}}}}";
    JsonNode created =
        http.post("/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent", body).ok().json();
    assertEquals(
        "type.googleapis.com/google.ai.generativelanguage.v1main.EmbedContentBatch",
        created.get("metadata").get("@type").asText());
    JsonNode op = http.awaitDone(created.get("name").asText());
    assertEquals(
        "type.googleapis.com/google.ai.generativelanguage.v1main.EmbedContentBatchOutput",
        op.get("response").get("@type").asText());
    JsonNode results =
        op.get("metadata").get("output").get("inlinedEmbedContentResponses").get("inlinedResponses");
    assertEquals(results, op.get("response").get("inlinedEmbedContentResponses").get("inlinedResponses"));
    assertArrayEquals(EmulatorResponder.embedding("hello"), floats(results.get(0)));
    assertEquals("e0", results.get(0).get("metadata").get("key").asText());
    assertArrayEquals(EmulatorResponder.embedding("hello", 16), floats(results.get(1)));
    assertEquals(3, results.get(2).get("error").get("code").asInt());
    assertEquals(3, results.get(3).get("error").get("code").asInt());
    assertTrue(results.get(3).get("error").get("message").asText().contains("3072"));
    float[] unit = EmulatorResponder.embedding("hello");
    double norm = 0;
    for (float f : unit) {
      norm += f * f;
    }
    assertEquals(1.0, norm, 1e-5);

    JsonNode file =
        http.upload(
            "{\"key\": \"f1\", \"request\": {\"content\": {\"parts\": [{\"text\": \"abc\"}]}, \"output_dimensionality\": 8}}\n",
            "emb-in");
    JsonNode fileOp =
        http.awaitDone(
            http.post(
                    "/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent",
                    "{\"batch\": {\"displayName\": \"emb-file\", \"inputConfig\": {\"fileName\": \""
                        + file.get("name").asText() + "\"}}}")
                .ok()
                .json()
                .get("name")
                .asText());
    String line =
        http.get("/v1beta/" + fileOp.get("response").get("responsesFile").asText() + ":download?alt=media")
            .ok()
            .text()
            .trim();
    JsonNode parsed = Http.JSON.readTree(line);
    assertEquals("f1", parsed.get("key").asText());
    assertArrayEquals(EmulatorResponder.embedding("abc", 8), floats(parsed));

    http.post("/v1beta/models/gemini-2.5-flash:asyncBatchEmbedContent", body).error(404, "NOT_FOUND");
    http.post("/v1beta/models/gemini-embedding-001:batchGenerateContent", Http.inlineBody("x", "y"))
        .error(404, "NOT_FOUND");
  }

  private static float[] floats(JsonNode inlined) {
    JsonNode values = inlined.get("response").get("embedding").get("values");
    float[] f = new float[values.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = (float) values.get(i).asDouble();
    }
    return f;
  }

  @Test
  void statsCountCreatesCallsAndThePeakOfActiveJobs() {
    GeminiEmulator emulator = EMU.emulator();
    emulator.setJobLatency(Duration.ofMinutes(5));
    Http http = http();
    Http.Reply reset = http.send("POST", "/_emulator/reset-stats", null);
    assertEquals(200, reset.code);
    long before = System.currentTimeMillis();
    String n1 = http.createInline("same-name", "a").get("name").asText();
    String n2 = http.createInline("same-name", "b").get("name").asText();
    http.get("/v1beta/" + n1).ok();
    http.post("/v1beta/" + n1 + ":cancel", "").ok();
    http.post("/v1beta/" + n2 + ":cancel", "").ok();
    JsonNode stats = http.send("GET", "/_emulator/stats", null).ok().json();
    assertEquals(2, stats.get("batchesCreated").asLong());
    assertEquals(2, stats.get("createsByDisplayName").get("same-name").asLong());
    assertEquals(2, stats.get("callsByEndpoint").get("batches.create").asLong());
    assertEquals(1, stats.get("callsByEndpoint").get("batches.get").asLong());
    assertEquals(2, stats.get("callsByEndpoint").get("batches.cancel").asLong());
    assertTrue(stats.get("peakActiveJobs").asInt() >= 2);
    assertTrue(stats.get("jobsByState").get("BATCH_STATE_CANCELLED").asLong() >= 2);
    for (String field : new String[] {"faultsInjected", "filesStored", "bytesUploaded", "bytesDownloaded"}) {
      assertTrue(stats.has(field), field);
    }
    long after = System.currentTimeMillis();
    // The timeline: the first create began after the reset, the last cancel ended before now.
    long firstCreate = stats.get("firstServedMillis").get("batches.create").asLong();
    long lastCreate = stats.get("lastServedMillis").get("batches.create").asLong();
    long lastCancel = stats.get("lastServedMillis").get("batches.cancel").asLong();
    assertTrue(before <= firstCreate && firstCreate <= lastCreate && lastCreate <= lastCancel && lastCancel <= after,
        before + " <= " + firstCreate + " <= " + lastCreate + " <= " + lastCancel + " <= " + after);
    assertNull(stats.get("firstServedMillis").get("files.download"), "nothing downloaded, so no time");
    EmulatorStats java = emulator.stats();
    assertEquals(2, java.batchesCreated());
    assertEquals(2, java.creates("same-name"));
    assertEquals(2, java.calls("batches.create"));
    emulator.resetStats();
    assertEquals(0, emulator.stats().batchesCreated());
    assertNull(emulator.stats().createsByDisplayName().get("same-name"));
    assertTrue(emulator.stats().firstServedMillis().isEmpty(), "the timeline restarts too");
    EmulatorStats afterReset = emulator.stats();
    assertEquals(afterReset.activeJobs(), afterReset.peakActiveJobs(), "the peak restarts at the active count");
  }
}
