package io.geminibatch.connector.client;

import static io.geminibatch.connector.client.TestSupport.CHUNK;
import static io.geminibatch.connector.client.TestSupport.KEY;
import static io.geminibatch.connector.client.TestSupport.MODEL;
import static io.geminibatch.connector.client.TestSupport.assertNoKey;
import static io.geminibatch.connector.client.TestSupport.awaitTerminal;
import static io.geminibatch.connector.client.TestSupport.config;
import static io.geminibatch.connector.client.TestSupport.count;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.testing.Faults;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The client under the emulator's injected faults: what is retried, resumed, and never. */
class EmulatorFaultsTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMU =
      GeminiEmulatorExtension.builder()
          .apiKey(KEY)
          .jobLatency(Duration.ofMillis(50))
          .seed(23)
          .build();

  private GeminiEmulator emulator;
  private HttpGeminiBatchClient client;

  /** Backoffs are recorded, not slept: the emulator needs no pause. */
  private final List<Duration> pauses = new CopyOnWriteArrayList<>();

  private final String run = UUID.randomUUID().toString().substring(0, 8);

  @BeforeEach
  void setUp() {
    emulator = EMU.emulator();
    emulator.setFaults(Faults.none());
    emulator.resetStats();
    client = new HttpGeminiBatchClient(config(emulator.baseUrl()).build(), pauses::add, true);
  }

  @AfterEach
  void tearDown() {
    emulator.setFaults(Faults.none());
    client.close();
  }

  private BatchJob succeededFileBatch(int size) throws IOException {
    byte[] input = TestSupport.jsonlOfSize("f" + run, size);
    GeminiFile file =
        client.uploadFile(
            null, "in", "application/jsonl", size, () -> new ByteArrayInputStream(input));
    BatchJob job =
        awaitTerminal(
            client,
            client
                .createFileBatch(BatchKind.GENERATE, MODEL, "f-" + run, file.getName())
                .getName());
    assertEquals(BatchState.SUCCEEDED, job.getState());
    return job;
  }

  @Test
  void throttledAndUnavailableCallsAreRetried() throws IOException {
    BatchJob job = succeededFileBatch(100_000);
    emulator.resetStats();
    emulator.setFaults(Faults.builder().throttleRate(0.3).unavailableRate(0.3).build());

    int logicalCalls = 0;
    for (int i = 0; i < 20; i++) {
      assertEquals(BatchState.SUCCEEDED, client.getBatch(job.getName()).orElseThrow().getState());
      assertTrue(client.getFile(job.getInputFileName()).isPresent());
      assertFalse(client.listBatches(5, null).getJobs().isEmpty());
      logicalCalls += 3;
    }
    long calls = count(emulator.stats().callsByEndpoint(), "");
    assertTrue(count(emulator.stats().faultsInjected(), "") > 0, "no faults injected");
    assertTrue(calls > logicalCalls, calls + " calls for " + logicalCalls + " logical ones");
    // The emulator sends Retry-After, a floor above the configured 10 ms maximum backoff.
    assertTrue(
        pauses.stream().anyMatch(d -> d.compareTo(Duration.ofSeconds(1)) >= 0), pauses.toString());
  }

  @Test
  void droppedDownloadsStillDeliverEveryByteOnce() throws IOException {
    BatchJob job = succeededFileBatch(3 * CHUNK);
    byte[] clean = TestSupport.readAll(client.download(job.getResponsesFile()));
    emulator.resetStats();
    emulator.setFaults(Faults.builder().dropDownloadRate(0.5).build());
    int downloads = 12;
    for (int i = 0; i < downloads; i++) {
      assertArrayEquals(clean, TestSupport.readAll(client.download(job.getResponsesFile())));
    }
    long calls = emulator.stats().calls("files.download");
    assertTrue(calls > downloads, calls + " calls: no download was dropped and resumed");
  }

  @Test
  void failedChunksAreResumedFromTheServicesOffset() throws IOException {
    emulator.setFaults(Faults.builder().unavailableRate(0.3).throttleRate(0.1).build());
    int resumed = 0;
    String resumedFile = null;
    byte[] input = TestSupport.jsonlOfSize("u" + run, 3 * CHUNK + 1);
    // Faults are random: with four chunks per upload, five uploads all but surely hit one chunk.
    for (int i = 0; i < 5; i++) {
      TestSupport.ChoppySource source = new TestSupport.ChoppySource(input, 5000);
      GeminiFile file = client.uploadFile(null, "in", "application/jsonl", input.length, source);
      assertEquals(input.length, file.getSizeBytes());
      // Each upload after the first fills the chunk buffer the one before gave back.
      assertArrayEquals(input, stored(file), file.getName());
      if (source.opens.get() > 1) {
        resumed++;
        resumedFile = file.getName();
      }
    }
    assertTrue(resumed > 0, "no upload needed a resume");
    assertTrue(emulator.stats().calls("files.upload.query") > 0);

    emulator.setFaults(Faults.none());
    BatchJob job =
        awaitTerminal(
            client,
            client.createFileBatch(BatchKind.GENERATE, MODEL, "u-" + run, resumedFile).getName());
    assertEquals(BatchState.SUCCEEDED, job.getState());
    assertEquals(
        TestSupport.echoes(TestSupport.prompts(input)),
        TestSupport.results(TestSupport.readAll(client.download(job.getResponsesFile()))));
  }

  @Test
  void createIsSentOnceEvenWhenTheServiceIsUnavailable() throws IOException {
    byte[] requests = TestSupport.inlineRequests(TestSupport.prompts("x", 1));
    emulator.setFaults(Faults.builder().unavailableRate(1.0).build());
    CreateOutcomeUnknownException unknown =
        assertNoKey(
            assertThrows(
                CreateOutcomeUnknownException.class,
                () ->
                    client.createInlineBatch(BatchKind.GENERATE, MODEL, "u503-" + run, requests)));
    assertEquals(
        503, assertInstanceOf(GeminiApiException.class, unknown.getCause()).getHttpStatus());
    assertEquals(1, emulator.stats().calls("batches.create"));

    emulator.setFaults(Faults.builder().throttleRate(1.0).build());
    GeminiApiException refused =
        assertNoKey(
            assertThrows(
                GeminiApiException.class,
                () ->
                    client.createInlineBatch(BatchKind.GENERATE, MODEL, "u429-" + run, requests)));
    assertEquals(429, refused.getHttpStatus());
    assertEquals(2, emulator.stats().calls("batches.create"));
    assertTrue(pauses.isEmpty(), "a create waited to retry: " + pauses);

    emulator.setFaults(Faults.none());
    assertFalse(client.findBatchByDisplayName("u503-" + run).isPresent());
    assertFalse(client.findBatchByDisplayName("u429-" + run).isPresent());
  }

  @Test
  void lostCreateReplyIsAmbiguousAndTheJobIsFoundByName() throws IOException {
    emulator.setFaults(Faults.builder().lostCreateReplyRate(1.0).build());
    String name = "lost-" + run;
    CreateOutcomeUnknownException unknown =
        assertNoKey(
            assertThrows(
                CreateOutcomeUnknownException.class,
                () ->
                    client.createInlineBatch(
                        BatchKind.GENERATE,
                        MODEL,
                        name,
                        TestSupport.inlineRequests(TestSupport.prompts("y", 2)))));
    assertFalse(unknown.getCause() instanceof GeminiApiException, unknown.toString());

    emulator.setFaults(Faults.none());
    BatchJob found = client.findBatchByDisplayName(name).orElseThrow();
    assertEquals(name, found.getDisplayName());
    assertEquals(1L, emulator.stats().createsByDisplayName().get(name).longValue());
    assertEquals(BatchState.SUCCEEDED, awaitTerminal(client, found.getName()).getState());
  }

  /** Answers per key, or per position when the service dropped the keys. */
  private Map<String, String> readInline(String batch, List<String> keys) throws IOException {
    Map<String, String> answers = new HashMap<>();
    client.readInlinedResponses(
        batch,
        (index, key, response, error) -> {
          assertNull(error);
          keys.add(key);
          answers.put(
              key == null ? "#" + index : key, TestSupport.text(TestSupport.parse(response)));
        });
    return answers;
  }

  @Test
  void reorderedInlineResultsKeepTheirKeys() throws IOException {
    emulator.setFaults(Faults.builder().reorderInline(true).build());
    Map<String, String> prompts = TestSupport.prompts("r-" + run, 30);
    BatchJob job =
        awaitTerminal(
            client,
            client
                .createInlineBatch(
                    BatchKind.GENERATE, MODEL, "r-" + run, TestSupport.inlineRequests(prompts))
                .getName());
    List<String> keys = new ArrayList<>();
    assertEquals(TestSupport.echoes(prompts), readInline(job.getName(), keys));
    assertFalse(keys.equals(new ArrayList<>(prompts.keySet())), "30 results in input order");
  }

  @Test
  void omittedInlineMetadataGivesNullKeys() throws IOException {
    emulator.setFaults(Faults.builder().reorderInline(true).omitInlineMetadata(true).build());
    Map<String, String> prompts = TestSupport.prompts("o-" + run, 10);
    BatchJob job =
        awaitTerminal(
            client,
            client
                .createInlineBatch(
                    BatchKind.GENERATE, MODEL, "o-" + run, TestSupport.inlineRequests(prompts))
                .getName());
    List<String> keys = new ArrayList<>();
    Map<String, String> answers = readInline(job.getName(), keys);
    assertEquals(10, keys.size());
    assertTrue(keys.stream().allMatch(k -> k == null), keys.toString());
    assertEquals(
        new HashSet<>(TestSupport.echoes(prompts).values()), new HashSet<>(answers.values()));
  }

  /** The bytes the emulator stored for an uploaded file. */
  private byte[] stored(GeminiFile file) throws IOException {
    String id = file.getName().substring("files/".length());
    return java.nio.file.Files.readAllBytes(emulator.dataDir().resolve("files").resolve(id));
  }
}
