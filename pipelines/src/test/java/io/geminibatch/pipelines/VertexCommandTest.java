package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.EmulatorResponder;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.gcs.GcsObject;
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

/**
 * {@code generate --backend=vertex} from gs:// to gs://, and {@code jobs} on Vertex AI, against the
 * emulator (its Vertex AI API and its Cloud Storage).
 */
class VertexCommandTest {
  private GeminiEmulator emulator;

  @BeforeEach
  void start() throws IOException {
    emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(100)).start();
    emulator.storage().ensureBucket("bkt");
  }

  @AfterEach
  void stop() {
    emulator.close();
  }

  /**
   * The command's words ({@code more}'s leading words), then the options every Vertex AI run needs
   * here (the service, its credentials, Beam's gs://), then the rest of {@code more}.
   */
  private String[] vertexFlags(String... more) {
    List<String> args = new ArrayList<>();
    int words = 0;
    while (words < more.length && !more[words].startsWith("--")) {
      args.add(more[words++]);
    }
    args.addAll(List.of(
        "--backend=vertex", "--project=test-project", "--location=us-central1",
        "--baseUrl=" + emulator.baseUrl(), "--accessToken=test-token",
        "--gcsEndpoint=" + emulator.baseUrl() + "/storage/v1/",
        "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory"));
    args.addAll(List.of(more).subList(words, more.length));
    return args.toArray(new String[0]);
  }

  private Cli cli(String... args) {
    return Cli.run(Cli.NO_KEY, args);
  }

  private List<JsonNode> outputs(String prefix) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (GcsObject o : emulator.storage().listObjects("bkt", prefix)) {
      try (InputStream in = emulator.storage().openObject("bkt", o.name())) {
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          if (!line.isBlank()) {
            lines.add(Cli.JSON.readTree(line));
          }
        }
      }
    }
    return lines;
  }

  @Test
  void generateOnVertexAiFromGsToGs_thenJobsListGetDelete() throws IOException {
    Map<String, String> expected = new HashMap<>();
    StringBuilder input = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      String key = String.format("%06d", i); // numeric-looking keys survive the round trip
      input.append("{\"key\": \"").append(key).append("\", \"request\": {\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"question ")
          .append(i).append("\"}]}]}}\n");
      expected.put(key, EmulatorResponder.ANSWER_PREFIX + "question " + i);
    }
    emulator.storage().putObject("bkt", "in/requests.jsonl",
        new ByteArrayInputStream(input.toString().getBytes(StandardCharsets.UTF_8)));

    Cli run = cli(vertexFlags("generate", "--input=gs://bkt/in/requests.jsonl", "--output=gs://bkt/out/answers",
        "--stagingLocation=gs://bkt/staging", "--maxRequestsPerJob=15", "--pollInterval=1", "--keepArtifacts=true"));
    assertEquals(0, run.status, run.toString());
    assertEquals(List.of(), outputs("out/answers-failures-"));
    List<JsonNode> responses = outputs("out/answers-responses-");
    Map<String, String> got = new HashMap<>();
    for (JsonNode r : responses) {
      got.put(r.get("key").asText(), GenerateCommandTest.answerText(r));
    }
    assertEquals(expected, got);
    assertEquals(40, responses.size());
    int jobs = emulator.vertex().jobsCreated();
    assertTrue(jobs >= 3, "40 requests at 15 a job need 3 jobs at least, got " + jobs);

    Cli list = cli(vertexFlags("jobs", "list"));
    assertEquals(0, list.status, list.toString());
    List<String> rows = list.out.lines().filter(l -> l.contains("JOB_STATE_SUCCEEDED")).toList();
    assertEquals(jobs, rows.size(), list.out);
    String name = rows.get(0).split("\\s+")[0];
    assertTrue(name.startsWith("projects/test-project/locations/us-central1/batchPredictionJobs/"), name);

    String id = name.substring(name.lastIndexOf('/') + 1);
    Cli get = cli(vertexFlags("jobs", "get", id));
    assertEquals(0, get.status, get.toString());
    assertTrue(get.out.contains("state:         JOB_STATE_SUCCEEDED"), get.out);
    assertTrue(get.out.contains("responses:     gs://bkt/staging/"), get.out);
    Cli delete = cli(vertexFlags("jobs", "delete", name));
    assertEquals(0, delete.status, delete.toString());
    assertEquals(jobs - 1, emulator.vertex().jobStates().size());
    Cli gone = cli(vertexFlags("jobs", "get", id));
    assertTrue(gone.status != 0 && gone.err.contains("HTTP 404"), gone.toString());
  }

  @Test
  void vertexBackendNeedsProjectLocationAndAGsStagingLocation() {
    Cli noLocation = cli("jobs", "list", "--backend=vertex", "--project=test-project", "--accessToken=t");
    assertTrue(noLocation.status != 0 && noLocation.err.contains("--location"), noLocation.toString());
    Cli localStaging = cli(vertexFlags("generate", "--input=" + Cli.EXAMPLES.resolve("prompts.txt"),
        "--output=" + System.getProperty("java.io.tmpdir") + "/vertex-never", "--stagingLocation=/tmp/local"));
    assertTrue(localStaging.status != 0 && localStaging.err.contains("gs://"), localStaging.toString());
    Cli badBackend = cli("jobs", "list", "--backend=bedrock");
    assertTrue(badBackend.status != 0 && badBackend.err.contains("gemini or vertex"), badBackend.toString());
  }
}
