package io.geminibatch.connector.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The streaming parsers against bodies quoted from the live API and their variants. */
class ApiJsonTest {

  private static BatchJob operation(String json) throws IOException {
    return ApiJson.read(stream(json), ApiJson::readOperation);
  }

  private static ByteArrayInputStream stream(String json) {
    return new ByteArrayInputStream(json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void liveFileOutputOperation() throws IOException {
    BatchJob job =
        operation(
            "{'name': 'batches/3a96', 'metadata': {'@type':"
                + " 'type.googleapis.com/x.GenerateContentBatch', 'model':"
                + " 'models/gemini-3.5-flash-lite', 'displayName': 'lupa-batch', 'inputConfig':"
                + " {'fileName': 'files/voe5'}, 'output': {'responsesFile': 'files/batch-3a96'},"
                + " 'createTime': '2026-08-20T20:08:31.015405218Z', 'endTime':"
                + " '2026-08-20T20:10:25.852081585Z', 'batchStats': {'requestCount': '9',"
                + " 'successfulRequestCount': '9'}, 'state': 'BATCH_STATE_SUCCEEDED', 'name':"
                + " 'batches/3a96'}, 'done': true, 'response': {'@type':"
                + " 'x.GenerateContentBatchOutput', 'responsesFile': 'files/batch-3a96'}}");
    assertEquals("batches/3a96", job.getName());
    assertEquals("lupa-batch", job.getDisplayName());
    assertEquals("models/gemini-3.5-flash-lite", job.getModel());
    assertEquals(BatchState.SUCCEEDED, job.getState());
    assertEquals("files/voe5", job.getInputFileName());
    assertEquals("files/batch-3a96", job.getResponsesFile());
    assertFalse(job.hasInlinedOutput());
    assertEquals(Instant.parse("2026-08-20T20:08:31.015405218Z"), job.getCreateTime());
    assertEquals(9, job.getRequestCount());
    assertEquals(9, job.getSuccessfulRequestCount());
    assertEquals(0, job.getFailedRequestCount());
    assertEquals(0, job.getPendingRequestCount());
    assertNull(job.getError());
  }

  @Test
  void sdkStateNamesNumericCountsOffsetsAndError() throws IOException {
    BatchJob job =
        operation(
            "{'metadata': {'name': 'batches/x', 'state': 'JOB_STATE_CANCELLED', 'createTime':"
                + " '2026-01-06T12:09:11+01:00', 'updateTime': '2026-01-06T11:09:11.9Z',"
                + " 'batchStats': {'requestCount': 4, 'failedRequestCount': '3',"
                + " 'pendingRequestCount': 1}}, 'done': true, 'error': {'code': 1, 'message':"
                + " 'Cancelled.', 'details': [{'a': [1]}]}}");
    assertEquals("batches/x", job.getName(), "metadata.name stands in for a missing name");
    assertEquals(BatchState.CANCELLED, job.getState());
    assertEquals(Instant.parse("2026-01-06T11:09:11Z"), job.getCreateTime());
    assertEquals(Instant.parse("2026-01-06T11:09:11.900Z"), job.getUpdateTime());
    assertEquals(4, job.getRequestCount());
    assertEquals(3, job.getFailedRequestCount());
    assertEquals(1, job.getPendingRequestCount());
    assertEquals(new ApiStatus(ApiStatus.CANCELLED, "Cancelled."), job.getError());
  }

  @Test
  void inlinedOutputIsNotedButNotHeld() throws IOException {
    BatchJob inResponse =
        operation(
            "{'name': 'batches/a', 'metadata': {'state': 'BATCH_STATE_SUCCEEDED'}, 'response':"
                + " {'inlinedResponses': {'inlinedResponses': [{'response': {'x': 1}}]}}}");
    assertTrue(inResponse.hasInlinedOutput());
    assertNull(inResponse.getResponsesFile());

    BatchJob embedInMetadata =
        operation(
            "{'name': 'batches/b', 'metadata': {'output': {'inlinedEmbedContentResponses':"
                + " {'inlinedResponses': [{'response': {'embedding': {'values': [1.0]}}}]}},"
                + " 'inputConfig': {'requests': {'requests': [{'request': {}}]}}}}");
    assertTrue(embedInMetadata.hasInlinedOutput());
    assertNull(embedInMetadata.getInputFileName());
    assertEquals(BatchState.UNSPECIFIED, embedInMetadata.getState());
  }

  @Test
  void malformedOperationsAreRejected() {
    assertThrows(JsonProcessingException.class, () -> operation("{'metadata': {}}"));
    assertThrows(JsonProcessingException.class, () -> operation("[]"));
    assertThrows(
        JsonProcessingException.class,
        () -> operation("{'name': 'batches/a', 'metadata': {'createTime': 'yesterday'}}"));
  }

  @Test
  void pageAndTokens() throws IOException {
    BatchPage page =
        ApiJson.read(
            stream(
                "{'operations': [{'name': 'batches/a'}, {'name': 'batches/b'}], 'nextPageToken':"
                    + " 't2'}"),
            ApiJson::readOperationsPage);
    assertEquals(
        List.of("batches/a", "batches/b"), page.getJobs().stream().map(BatchJob::getName).toList());
    assertEquals("t2", page.getNextPageToken());
    BatchPage last = ApiJson.read(stream("{'nextPageToken': ''}"), ApiJson::readOperationsPage);
    assertTrue(last.getJobs().isEmpty());
    assertNull(last.getNextPageToken());
  }

  /** One visit, as the visitor saw it. */
  private record Visit(int index, String key, String response, ApiStatus error) {}

  private static List<Visit> inlined(String json) throws IOException {
    List<Visit> visits = new ArrayList<>();
    ApiJson.read(
        stream(json),
        p -> {
          ApiJson.readInlinedResponses(
              p,
              (index, key, response, error) ->
                  visits.add(
                      new Visit(
                          index,
                          key,
                          response == null ? null : new String(response, StandardCharsets.UTF_8),
                          error)));
          return null;
        });
    return visits;
  }

  @Test
  void inlinedResponsesInBothPlacesAreVisitedOnce() throws IOException {
    String array =
        "{'inlinedResponses': [{'response': {'text': 'a \\u00e9'}, 'metadata': {'key': 'k1',"
            + " 'other': [1]}}, {'error': {'code': 13, 'message': 'internal'}, 'metadata': {'key':"
            + " 7}}, {'response': {'n': [1, 2.5, null, true]}}]}";
    List<Visit> visits =
        inlined(
            "{'name': 'batches/a', 'metadata': {'state': 'BATCH_STATE_SUCCEEDED', 'output':"
                + " {'inlinedResponses': "
                + array
                + "}}, 'done': true, 'response': {'@type': 't', 'inlinedResponses': "
                + array
                + "}}");
    assertEquals(
        List.of(
            new Visit(0, "k1", "{\"text\":\"a é\"}", null),
            new Visit(1, "7", null, new ApiStatus(13, "internal")),
            new Visit(2, null, "{\"n\":[1,2.5,null,true]}", null)),
        visits);
  }

  @Test
  void inlinedResponsesOnlyInResponseAndEmbedName() throws IOException {
    assertEquals(
        List.of(new Visit(0, "e", "{\"embedding\":{\"values\":[0.5]}}", null)),
        inlined(
            "{'name': 'batches/a', 'response': {'inlinedEmbedContentResponses':"
                + " {'inlinedResponses': [{'metadata': {'key': 'e'}, 'response': {'embedding':"
                + " {'values': [0.5]}}}]}}}"));
    assertEquals(
        List.of(),
        inlined("{'name': 'batches/a', 'metadata': {'output': {'responsesFile': 'files/x'}}}"));
  }

  @Test
  void errorBodies() {
    GeminiApiException json =
        ApiJson.error(
            "batches.get batches/a",
            404,
            "{\"error\": {\"code\": 404, \"message\": \"not found\", \"status\": \"NOT_FOUND\", \"details\": []}}"
                .getBytes(StandardCharsets.UTF_8),
            null,
            "SECRET");
    assertEquals("batches.get batches/a failed: HTTP 404 NOT_FOUND: not found", json.getMessage());
    assertTrue(json.isNotFound());
    assertFalse(json.isRetryable());

    String html = "<html>" + "x".repeat(300) + "SECRET</html>";
    GeminiApiException notJson =
        ApiJson.error(
            "files.get files/a",
            502,
            html.getBytes(StandardCharsets.UTF_8),
            Duration.ofSeconds(3),
            "SECRET");
    assertEquals(
        "files.get files/a failed: HTTP 502: " + html.substring(0, 200), notJson.getMessage());
    assertNull(notJson.getStatus());
    assertEquals(Duration.ofSeconds(3), notJson.getRetryAfter());
    assertTrue(notJson.isRetryable());

    GeminiApiException echo =
        ApiJson.error(
            "c",
            400,
            "{\"error\": {\"message\": \"bad key SECRET\", \"status\": \"INVALID_ARGUMENT\"}}"
                .getBytes(StandardCharsets.UTF_8),
            null,
            "SECRET");
    assertFalse(echo.getMessage().contains("SECRET"), echo.getMessage());
  }
}
