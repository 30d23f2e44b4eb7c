package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import com.google.genai.Client;
import com.google.genai.errors.ClientException;
import com.google.genai.types.BatchJob;
import com.google.genai.types.BatchJobDestination;
import com.google.genai.types.BatchJobSource;
import com.google.genai.types.CreateBatchJobConfig;
import com.google.genai.types.DeleteResourceJob;
import com.google.genai.types.HttpOptions;
import com.google.genai.types.JobState;
import com.google.genai.types.ListBatchJobsConfig;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Google's Java SDK ({@code google-genai}) with {@code vertexAI(true)} against the emulator's Vertex
 * AI batch prediction: only the base URL and the credentials differ from a real project.
 */
class GoogleSdkVertexTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder().jobLatency(Duration.ofMillis(50)).build();

  @Test
  void batchJobLifeCycleThroughTheSdk() throws Exception {
    GeminiEmulator emulator = EMU.emulator();
    emulator.storage().ensureBucket("sdk");
    String input = "{\"request\": " + Http.request("one") + "}\n{\"request\": " + Http.request("two") + "}\n";
    emulator.storage().putObject("sdk", "in/batch.jsonl", new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
    Client client =
        Client.builder()
            .vertexAI(true)
            .project("test-project")
            .location("us-central1")
            .credentials(GoogleCredentials.create(new AccessToken("sdk-token", null)))
            .httpOptions(HttpOptions.builder().baseUrl(emulator.baseUrl()).apiVersion("v1").build())
            .build();

    BatchJob created =
        client.batches.create(
            "gemini-2.5-flash",
            BatchJobSource.builder().gcsUri("gs://sdk/in/batch.jsonl").format("jsonl").build(),
            CreateBatchJobConfig.builder()
                .displayName("sdk-job")
                .dest(BatchJobDestination.builder().gcsUri("gs://sdk/out").format("jsonl").build())
                .build());
    String name = created.name().orElseThrow();
    assertTrue(name.matches("projects/test-project/locations/us-central1/batchPredictionJobs/[0-9]+"), name);
    assertEquals(JobState.Known.JOB_STATE_PENDING, created.state().orElseThrow().knownEnum());
    assertEquals("publishers/google/models/gemini-2.5-flash", created.model().orElseThrow());

    BatchJob[] done = new BatchJob[1];
    Await.until(() -> {
      done[0] = client.batches.get(name, null);
      return done[0].state().orElseThrow().knownEnum() == JobState.Known.JOB_STATE_SUCCEEDED;
    }, Duration.ofSeconds(20), name + " to succeed");
    assertEquals(2L, done[0].completionStats().orElseThrow().successfulCount().orElseThrow());
    assertTrue(done[0].outputInfo().orElseThrow().gcsOutputDirectory().orElseThrow()
        .startsWith("gs://sdk/out/prediction-model-"));
    assertEquals("gs://sdk/in/batch.jsonl", done[0].src().orElseThrow().gcsUri().orElseThrow().get(0));

    List<String> succeeded = new ArrayList<>();
    for (BatchJob j : client.batches.list(
        ListBatchJobsConfig.builder().pageSize(1).filter("state=\"JOB_STATE_SUCCEEDED\"").build())) {
      succeeded.add(j.name().orElseThrow());
    }
    assertEquals(List.of(name), succeeded);

    DeleteResourceJob deleted = client.batches.delete(name, null);
    assertTrue(deleted.done().orElse(false));
    ClientException gone = assertThrows(ClientException.class, () -> client.batches.get(name, null));
    assertEquals(404, gone.code());
  }
}
