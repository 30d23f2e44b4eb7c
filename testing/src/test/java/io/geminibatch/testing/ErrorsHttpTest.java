package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Error replies: the service's body shape, HTTP codes and statuses. */
@ExtendWith(GeminiEmulatorExtension.class)
class ErrorsHttpTest {

  @Test
  void aMissingKeyIsPermissionDenied(GeminiEmulator emulator) {
    Http.Reply r = new Http(emulator.baseUrl()).send("GET", "/v1beta/batches", null);
    JsonNode e = r.error(403, "PERMISSION_DENIED");
    assertEquals(
        "Method doesn't allow unregistered callers (callers without established identity). Please"
            + " use API Key or other form of API consumer identity to call this API.",
        e.get("message").asText());
  }

  @Test
  void aWrongKeyIsInvalidArgumentWithErrorInfo() throws Exception {
    try (GeminiEmulator strict = GeminiEmulator.builder().apiKey("the-right-key").start()) {
      Http http = new Http(strict.baseUrl());
      JsonNode e = http.get("/v1beta/batches").error(400, "INVALID_ARGUMENT");
      assertEquals("API key not valid. Please pass a valid API key.", e.get("message").asText());
      JsonNode info = e.get("details").get(0);
      assertEquals("type.googleapis.com/google.rpc.ErrorInfo", info.get("@type").asText());
      assertEquals("API_KEY_INVALID", info.get("reason").asText());
      assertEquals("googleapis.com", info.get("domain").asText());
      http.send("GET", "/v1beta/batches?key=the-right-key", null).ok();
      http.send("GET", "/v1beta/batches", null, "x-goog-api-key", "the-right-key").ok();
    }
  }

  @Test
  void badBodiesAreInvalidArgumentNamingTheField(GeminiEmulator emulator) {
    Http http = new Http(emulator.baseUrl());
    String create = "/v1beta/models/gemini-2.5-flash:batchGenerateContent";
    JsonNode e = http.post(create, "{\"batch\": ").error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().startsWith("Invalid JSON payload received."), e.toString());
    e = http.post(create, "{\"batch\": {\"inputConfig\": {\"fileName\": \"files/x\"}}}")
        .error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("display_name"), e.toString());
    e = http.post(create, "{\"batch\": {\"displayName\": 5, \"inputConfig\": {}}}").error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("batch.display_name"), e.toString());
    e = http.post(create, "{\"batch\": {\"displayName\": \"x\", \"bogus\": 1}}").error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("Unknown name \"bogus\""), e.toString());
    e = http.post(create, "{\"batch\": {\"displayName\": \"x\"}}").error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("input_config"), e.toString());
    e = http.post(create, "{\"batch\": {\"displayName\": \"x\", \"inputConfig\": {\"requests\": {\"requests\": []}}}}")
        .error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("requests"), e.toString());
    e = http.post(create, "{\"batch\": {\"displayName\": \"x\", \"inputConfig\": {\"requests\": {\"requests\": [{\"metadata\": {}}]}}}}")
        .error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("requests[0].request"), e.toString());
    e = http.post(create, "{\"batch\": {\"displayName\": \"x\", \"priority\": \"high\", \"inputConfig\": {\"fileName\": \"files/x\"}}}")
        .error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("batch.priority"), e.toString());
  }

  @Test
  void unknownThingsAreNotFound(GeminiEmulator emulator) {
    Http http = new Http(emulator.baseUrl());
    http.get("/v1beta/batches/doesnotexist").error(404, "NOT_FOUND");
    http.post("/v1beta/batches/doesnotexist:cancel", "").error(404, "NOT_FOUND");
    http.get("/v1beta/files/doesnotexist").error(404, "NOT_FOUND");
    http.get("/v1beta/files/doesnotexist:download?alt=media").error(404, "NOT_FOUND");
    http.post(
            "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
            "{\"batch\": {\"displayName\": \"x\", \"inputConfig\": {\"fileName\": \"files/doesnotexist\"}}}")
        .error(404, "NOT_FOUND");
    JsonNode e = http.post("/v1beta/models/gpt-4:batchGenerateContent", Http.inlineBody("x", "y")).error(404, "NOT_FOUND");
    assertTrue(
        e.get("message").asText().startsWith("models/gpt-4 is not found for API version v1beta"),
        e.toString());
    http.get("/v2/batches").error(404, "NOT_FOUND");
    http.get("/v1beta/somethingElse").error(404, "NOT_FOUND");
    // Google's front end routes by method and path: another method finds nothing.
    http.get("/v1beta/models/gemini-2.5-flash:batchGenerateContent").error(404, "NOT_FOUND");
    http.call("PUT", "/v1beta/batches", "{}").error(404, "NOT_FOUND");
    assertEquals(0, emulator.stats().batchesCreated());
  }

  @Test
  void oversizedRequestsAreRejected(GeminiEmulator emulator) {
    Http http = new Http(emulator.baseUrl());
    String big = "x".repeat(ApiHandler.MAX_REQUEST_BYTES);
    JsonNode e =
        http.post("/v1beta/models/gemini-2.5-flash:batchGenerateContent", Http.inlineBody("big", big))
            .error(400, "INVALID_ARGUMENT");
    assertTrue(e.get("message").asText().contains("20971520"), e.toString());
  }
}
