package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.BatchKind;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiClientConfig;
import io.geminibatch.connector.client.HttpGeminiBatchClient;
import io.geminibatch.testing.GeminiEmulator;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code jobs} against an emulator whose jobs stay pending for the whole test. */
class JobsCommandTest {
  private static final String KEY = "jobs-test-key-31c9";
  private static GeminiEmulator emulator;
  private static GeminiBatchClient client;

  @BeforeAll
  static void start() {
    try {
      emulator = GeminiEmulator.builder().apiKey(KEY).jobLatency(Duration.ofHours(1)).start();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    client =
        new HttpGeminiBatchClient(
            GeminiClientConfig.builder().baseUrl(emulator.baseUrl()).apiKey(ApiKeyProvider.of(KEY)).build());
  }

  @AfterAll
  static void stop() {
    client.close();
    emulator.close();
  }

  private static BatchJob createJob(String displayName) throws IOException {
    byte[] requests =
        ("[{\"request\": {\"contents\": [{\"parts\": [{\"text\": \"hi\"}]}]}, \"metadata\": {\"key\": \"a\"}},"
                + " {\"request\": {\"contents\": [{\"parts\": [{\"text\": \"ho\"}]}]}, \"metadata\": {\"key\": \"b\"}}]")
            .getBytes(StandardCharsets.UTF_8);
    return client.createInlineBatch(BatchKind.GENERATE, "models/gemini-2.5-flash", displayName, requests);
  }

  private static Cli jobs(String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "jobs";
    System.arraycopy(args, 0, all, 1, args.length);
    all[args.length + 1] = "--apiKey=" + KEY;
    all[args.length + 2] = "--baseUrl=" + emulator.baseUrl();
    return Cli.run(Cli.NO_KEY, all);
  }

  @Test
  void listShowsEveryJobWithItsStateAndCounts() throws IOException {
    BatchJob job = createJob("list-me");
    Cli run = jobs("list");
    assertEquals(0, run.status, run.toString());
    List<String> lines = run.out.lines().toList();
    assertTrue(lines.get(0).matches("NAME +DISPLAY NAME +STATE +TOTAL +SUCCEEDED +FAILED +PENDING +CREATED +ENDED"), run.out);
    String row = lines.stream().filter(l -> l.startsWith(job.getName() + " ")).findFirst().orElseThrow();
    assertTrue(row.matches(".* list-me +BATCH_STATE_PENDING +2 +0 +0 +2 +20\\d\\d-\\S+Z +-"), row);
    assertEquals("", run.err);
  }

  @Test
  void getCancelAndDeleteAJob() throws IOException {
    BatchJob job = createJob("get-cancel-delete");
    String id = job.getName().substring("batches/".length());

    Cli get = jobs("get", id);
    assertEquals(0, get.status, get.toString());
    assertTrue(get.out.contains("name:          " + job.getName() + "\n"), get.out);
    assertTrue(get.out.contains("display name:  get-cancel-delete\n"), get.out);
    assertTrue(get.out.contains("state:         BATCH_STATE_PENDING\n"), get.out);
    assertTrue(get.out.contains("requests:      total 2, succeeded 0, failed 0, pending 2\n"), get.out);
    assertTrue(get.out.contains("ended:         -\n"), get.out);

    Cli cancel = jobs("cancel", job.getName());
    assertEquals(0, cancel.status, cancel.toString());
    assertTrue(cancel.out.contains("state:         BATCH_STATE_CANCELLED\n"), cancel.out);

    Cli delete = jobs("delete", job.getName());
    assertEquals(0, delete.status, delete.toString());
    assertEquals("deleted " + job.getName() + "\n", delete.out);

    Cli gone = jobs("get", job.getName());
    assertEquals(1, gone.status, gone.toString());
    assertEquals("gemini-batch: error: no batch job named " + job.getName() + " (HTTP 404 NOT_FOUND)\n", gone.err);
  }

  @Test
  void unknownNamesAre404sWithExitStatus1() {
    for (String action : List.of("get", "cancel", "delete")) {
      Cli run = jobs(action, "batches/doesnotexist");
      assertEquals(1, run.status, run.toString());
      assertEquals(List.of("gemini-batch: error: no batch job named batches/doesnotexist (HTTP 404 NOT_FOUND)"), run.errLines());
    }
  }

  @Test
  void aBadKeyIsOneLineWithoutTheKey() {
    Cli run = Cli.run(Cli.NO_KEY, "jobs", "list", "--apiKey=wrong-key-5521", "--baseUrl=" + emulator.baseUrl());
    assertEquals(1, run.status, run.toString());
    assertEquals(1, run.errLines().size(), run.err);
    assertTrue(run.err.startsWith("gemini-batch: error: the service refused the API key: "), run.err);
    assertTrue(run.err.contains("HTTP 400"), run.err);
    assertFalse(run.err.contains("wrong-key-5521"), run.err);
  }

  @Test
  void noKeyIsABadCommandLine() {
    Cli run = Cli.run(Cli.NO_KEY, "jobs", "list");
    assertEquals(2, run.status, run.toString());
    assertEquals(1, run.errLines().size(), run.err);
    assertTrue(run.err.contains("needs an API key: set GEMINI_API_KEY"), run.err);
  }

  @Test
  void anUnreachableServiceIsOneLine() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Cli run = Cli.run(Cli.NO_KEY, "jobs", "list", "--apiKey=" + KEY, "--baseUrl=http://127.0.0.1:" + port);
    assertEquals(1, run.status, run.toString());
    assertEquals(
        List.of("gemini-batch: error: http://127.0.0.1:" + port + ": cannot connect to the service: connection refused"),
        run.errLines());
  }

  @Test
  void badActionsAndNamesAreBadCommandLines() {
    assertEquals(2, jobs("frobnicate").status);
    assertEquals(2, jobs("get").status);
    assertEquals(2, jobs("get", "batches/a/b").status);
    assertEquals(2, jobs().status);
  }

  /** Runs {@code args}, expecting exit 0 and each of {@code present} (and none of {@code absent}) on stdout. */
  private static void assertHelp(List<String> args, List<String> present, List<String> absent) {
    Cli run = Cli.run(Cli.NO_KEY, args.toArray(new String[0]));
    assertEquals(0, run.status, run.toString());
    present.forEach(p -> assertTrue(run.out.contains(p), p + " in\n" + run.out));
    absent.forEach(a -> assertFalse(run.out.contains(a), a + " in\n" + run.out));
  }

  @Test
  void helpForTheToolAndEachCommand() {
    assertHelp(List.of("--help"),
        List.of("generate --input=PATH --output=PREFIX", "jobs     list | get NAME | cancel NAME | delete NAME"), List.of());
    assertHelp(List.of("generate", "--help"),
        List.of("--input=STRING", "--systemInstruction=STRING", "--maxRequestsPerJob=LONG (default 10000)"),
        List.of("--taskType"));
    assertHelp(List.of("embed", "--help"), List.of("--taskType=STRING", "\"embedding\": {\"values\""), List.of("--systemInstruction"));
    assertHelp(List.of("jobs", "--help"), List.of("--limit=INTEGER (default 50)"), List.of("--input"));
    assertHelp(List.of("generate", "--help=FlinkPipelineOptions"), List.of("--flinkMaster"), List.of());
    assertEquals(2, Cli.run(Cli.NO_KEY).status);
    assertEquals(2, Cli.run(Cli.NO_KEY, "frobnicate").status);
  }
}
