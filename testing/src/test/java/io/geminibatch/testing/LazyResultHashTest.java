package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A result file's sha256Hash is computed on first use: listed, it is right; deleted, it is gone. */
class LazyResultHashTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder().jobLatency(Duration.ZERO).build();

  private static String result(Http http, String prompt) {
    JsonNode file = http.upload("{\"key\": \"1\", \"request\": " + Http.request(prompt) + "}\n", "in");
    JsonNode op = http.awaitDone(http.createFromFile(file.get("name").asText(), "j").get("name").asText());
    return op.get("response").get("responsesFile").asText();
  }

  @Test
  void listedResultsCarryTheirHashAndDeletedOnesAreGone() throws Exception {
    Http http = new Http(EMU.emulator().baseUrl());
    String kept = result(http, "kept");
    String deleted = result(http, "deleted");
    http.call("DELETE", "/v1beta/" + deleted, null).ok();

    byte[] bytes = http.get("/download/v1beta/" + kept + ":download?alt=media").ok().body;
    String sha = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(bytes));
    JsonNode list = http.get("/v1beta/files?pageSize=100").ok().json();
    boolean seen = false;
    for (JsonNode f : list.get("files")) {
      assertFalse(f.get("name").asText().equals(deleted), list.toString());
      if (f.get("name").asText().equals(kept)) {
        assertEquals(sha, f.get("sha256Hash").asText());
        seen = true;
      }
    }
    assertEquals(true, seen, list.toString());
    assertEquals(sha, http.get("/v1beta/" + kept).ok().json().get("sha256Hash").asText());
    http.get("/v1beta/" + deleted).error(404, "NOT_FOUND");
  }
}
