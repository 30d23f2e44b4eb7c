package io.geminibatch.connector.client;

import static io.geminibatch.connector.client.TestSupport.CHUNK;
import static io.geminibatch.connector.client.TestSupport.KEY;
import static io.geminibatch.connector.client.TestSupport.MODEL;
import static io.geminibatch.connector.client.TestSupport.assertNoKey;
import static io.geminibatch.connector.client.TestSupport.awaitTerminal;
import static io.geminibatch.connector.client.TestSupport.config;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The client's every call against the emulator over real HTTP, without faults. */
class EmulatorRoundTripTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder()
          .apiKey(KEY)
          .jobLatency(Duration.ofMillis(100))
          .seed(11)
          .build();

  private HttpGeminiBatchClient client;
  private final String run = UUID.randomUUID().toString().substring(0, 8);

  @BeforeEach
  void newClient() {
    EMU.emulator().setFaults(Faults.none());
    client = new HttpGeminiBatchClient(config(EMU.emulator().baseUrl()).build());
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {1, 3 * CHUNK + 1, 2 * CHUNK})
  void uploadedFileHasTheUploadedSize(int size) throws IOException {
    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    String id = "up-" + run + "-" + size;
    GeminiFile uploaded =
        client.uploadFile(
            id,
            "bytes " + size,
            "application/octet-stream",
            size,
            new TestSupport.ChoppySource(data, 1000));
    assertEquals("files/" + id, uploaded.getName());
    assertEquals(size, uploaded.getSizeBytes());

    GeminiFile got = client.getFile("files/" + id).orElseThrow();
    assertEquals("files/" + id, got.getName());
    assertEquals("bytes " + size, got.getDisplayName());
    assertEquals("application/octet-stream", got.getMimeType());
    assertEquals(size, got.getSizeBytes());
    assertEquals("ACTIVE", got.getState());
  }

  /**
   * One client's uploads one after another, larger and smaller than a chunk in turn: each fills
   * the buffer an earlier one gave back (larger than it needs, or just the size), and the service
   * holds exactly each file's bytes, in chunks of the configured size.
   */
  @Test
  void uploadsOneAfterAnotherKeepTheirOwnBytes() throws IOException {
    int[] sizes = {3 * CHUNK + 1, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 5, 7, CHUNK + 1, 2 * CHUNK};
    for (int i = 0; i < sizes.length; i++) {
      byte[] data = new byte[sizes[i]];
      new Random(100 + i).nextBytes(data);
      String id = "seq-" + run + "-" + i;
      EMU.emulator().resetStats();
      GeminiFile uploaded =
          client.uploadFile(id, null, "application/octet-stream", data.length, new TestSupport.ChoppySource(data, 777));
      assertEquals(data.length, uploaded.getSizeBytes());
      byte[] stored = java.nio.file.Files.readAllBytes(EMU.emulator().dataDir().resolve("files").resolve(id));
      assertArrayEquals(data, stored, "upload " + i + " of " + data.length + " bytes");
      assertEquals((data.length + CHUNK - 1) / CHUNK, EMU.emulator().stats().calls("files.upload.chunk"), "chunks of upload " + i);
    }
  }

  /**
   * Chunk boundaries at exact multiples and one byte past: the results prove every line arrived.
   */
  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {2 * CHUNK, 3 * CHUNK + 1})
  void fileBatchAnswersEveryUploadedLine(int size) throws IOException {
    byte[] input = TestSupport.jsonlOfSize("fb" + size, size);
    Map<String, String> prompts = TestSupport.prompts(input);
    GeminiFile file =
        client.uploadFile(
            null,
            "input " + run,
            "application/jsonl",
            size,
            new TestSupport.ChoppySource(input, 777));

    BatchJob created =
        client.createFileBatch(BatchKind.GENERATE, MODEL, "file-" + run, file.getName());
    assertTrue(created.getName().startsWith("batches/"), created.getName());
    assertEquals("file-" + run, created.getDisplayName());
    assertFalse(created.getState().isTerminal(), created.getRawState());

    BatchJob done = awaitTerminal(client, created.getName());
    assertEquals(BatchState.SUCCEEDED, done.getState());
    assertTrue(done.getRawState().startsWith("BATCH_STATE_"), done.getRawState());
    assertEquals(file.getName(), done.getInputFileName());
    assertEquals(prompts.size(), done.getRequestCount());
    assertEquals(prompts.size(), done.getSuccessfulRequestCount());
    assertEquals(0, done.getFailedRequestCount());
    assertEquals(0, done.getPendingRequestCount());
    assertNotNull(done.getCreateTime());
    assertNotNull(done.getEndTime());
    assertNull(done.getError());
    assertFalse(done.hasInlinedOutput());
    assertNotNull(done.getResponsesFile());

    byte[] results = TestSupport.readAll(client.download(done.getResponsesFile()));
    assertEquals(TestSupport.echoes(prompts), TestSupport.results(results));
    // From an offset on (a Range), and nothing from the end on.
    int third = results.length / 3;
    assertArrayEquals(
        Arrays.copyOfRange(results, third, results.length),
        TestSupport.readAll(client.download(done.getResponsesFile(), third)));
    assertEquals(0, TestSupport.readAll(client.download(done.getResponsesFile(), results.length)).length);
  }

  @Test
  void inlineBatchAnswersByMetadataKey() throws IOException {
    Map<String, String> prompts = TestSupport.prompts("in-" + run, 7);
    BatchJob created =
        client.createInlineBatch(
            BatchKind.GENERATE,
            "gemini-2.5-flash",
            "inline-" + run,
            TestSupport.inlineRequests(prompts));
    BatchJob done = awaitTerminal(client, created.getName());
    assertEquals(BatchState.SUCCEEDED, done.getState());
    assertTrue(done.hasInlinedOutput());
    assertNull(done.getResponsesFile());
    assertNull(done.getInputFileName());
    assertEquals(7, done.getRequestCount());
    assertEquals(7, done.getSuccessfulRequestCount());

    Map<String, String> answers = new HashMap<>();
    List<Integer> indices = new ArrayList<>();
    client.readInlinedResponses(
        done.getName(),
        (index, key, response, error) -> {
          indices.add(index);
          assertNull(error);
          answers.put(key, TestSupport.text(TestSupport.parse(response)));
        });
    assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), indices);
    assertEquals(TestSupport.echoes(prompts), answers);
  }

  @Test
  void listPagesAndFindTheNewestByDisplayName() throws IOException {
    byte[] one = TestSupport.inlineRequests(TestSupport.prompts("l-" + run, 1));
    Set<String> created = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      created.add(
          client
              .createInlineBatch(BatchKind.GENERATE, MODEL, "list-" + run + "-" + i, one)
              .getName());
    }
    BatchJob olderTwin = client.createInlineBatch(BatchKind.GENERATE, MODEL, "twin-" + run, one);
    BatchJob newerTwin = client.createInlineBatch(BatchKind.GENERATE, MODEL, "twin-" + run, one);
    created.add(olderTwin.getName());
    created.add(newerTwin.getName());

    Set<String> listed = new HashSet<>();
    int pages = 0;
    String token = null;
    do {
      BatchPage page = client.listBatches(2, token);
      assertTrue(page.getJobs().size() <= 2, "page of " + page.getJobs().size());
      page.getJobs().forEach(job -> listed.add(job.getName()));
      token = page.getNextPageToken();
      pages++;
    } while (token != null);
    assertTrue(listed.containsAll(created), "listed " + listed + ", created " + created);
    assertTrue(pages >= 4, pages + " pages");

    assertEquals(
        "list-" + run + "-3",
        client.findBatchByDisplayName("list-" + run + "-3").orElseThrow().getDisplayName());
    BatchJob twin = client.findBatchByDisplayName("twin-" + run).orElseThrow();
    BatchJob newest =
        newerTwin.getCreateTime().isBefore(olderTwin.getCreateTime()) ? olderTwin : newerTwin;
    assertEquals(newest.getCreateTime(), twin.getCreateTime());
    assertFalse(client.findBatchByDisplayName("absent-" + run).isPresent());
  }

  @Test
  void cancelEndsARunningJob() throws IOException {
    EMU.emulator().setFaults(Faults.builder().stuckJobRate(1.0).build());
    BatchJob job =
        client.createInlineBatch(
            BatchKind.GENERATE,
            MODEL,
            "cancel-" + run,
            TestSupport.inlineRequests(TestSupport.prompts("c", 2)));
    client.cancelBatch(job.getName());
    BatchJob cancelled = awaitTerminal(client, job.getName());
    assertEquals(BatchState.CANCELLED, cancelled.getState());
    assertEquals(ApiStatus.CANCELLED, cancelled.getError().getCode());
  }

  @Test
  void deletedThingsAreNotFound() throws IOException {
    BatchJob job =
        awaitTerminal(
            client,
            client
                .createInlineBatch(
                    BatchKind.GENERATE,
                    MODEL,
                    "del-" + run,
                    TestSupport.inlineRequests(TestSupport.prompts("d", 1)))
                .getName());
    assertTrue(client.deleteBatch(job.getName()));
    assertFalse(client.getBatch(job.getName()).isPresent());
    assertFalse(client.deleteBatch(job.getName()));

    byte[] data = {'x'};
    String file =
        client
            .uploadFile(null, null, "text/plain", 1, () -> new ByteArrayInputStream(data))
            .getName();
    assertTrue(client.deleteFile(file));
    assertFalse(client.getFile(file).isPresent());
    assertFalse(client.deleteFile(file));

    assertFalse(client.getBatch("batches/never-" + run).isPresent());
    assertFalse(client.getFile("files/never-" + run).isPresent());
    for (GeminiApiException e :
        List.of(
            assertThrows(GeminiApiException.class, () -> client.download("files/never-" + run)),
            assertThrows(
                GeminiApiException.class, () -> client.cancelBatch("batches/never-" + run)),
            assertThrows(
                GeminiApiException.class,
                () -> client.readInlinedResponses("batches/never-" + run, (i, k, r, e2) -> {})))) {
      assertNoKey(e);
      assertTrue(e.isNotFound(), e.getMessage());
      assertTrue(e.getMessage().contains("never-" + run), e.getMessage());
    }
  }

  @Test
  void wrongKeyIsRefusedWithoutShowingIt() {
    try (HttpGeminiBatchClient stranger =
        new HttpGeminiBatchClient(
            config(EMU.emulator().baseUrl())
                .apiKey(ApiKeyProvider.of(TestSupport.WRONG_KEY))
                .build())) {
      GeminiApiException e =
          assertNoKey(assertThrows(GeminiApiException.class, () -> stranger.listBatches(10, null)));
      assertTrue(e.getHttpStatus() >= 400 && e.getHttpStatus() < 500, e.getMessage());
      assertFalse(e.isRetryable());
    }
  }

  @Test
  void sharedClientsAreOnePerConfigAndSurviveClose() throws IOException {
    GeminiBatchClient shared =
        GeminiBatchClients.forConfig(config(EMU.emulator().baseUrl()).build());
    assertSame(shared, GeminiBatchClients.forConfig(config(EMU.emulator().baseUrl()).build()));
    shared.close();
    assertNotNull(shared.listBatches(1, null));
    assertFalse(shared.toString().contains(KEY));
  }
}
