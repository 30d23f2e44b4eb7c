package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.GeminiEmulator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate --detach}: the command ends once every job exists while the jobs are still
 * pending; the same command without it collects them and creates none.
 */
class DetachCommandTest {
  @TempDir Path dir;

  private static JsonNode stats(GeminiEmulator emulator) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/_emulator/stats")).build(),
                HttpResponse.BodyHandlers.ofString());
    return Cli.JSON.readTree(r.body());
  }

  private static long outputFiles(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().matches("answers-(responses|failures)-.*")).count();
    }
  }

  @Test
  void detachedRunExitsWhileJobsRunAndTheSameCommandCollectsWithoutCreating() throws Exception {
    Path input = dir.resolve("prompts.txt");
    Files.writeString(input, "alpha\nbeta\ngamma\ndelta\nepsilon\n");
    Path staging = dir.resolve("staging");
    try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(100)).start()) {
      emulator.holdJobs();
      List<String> args =
          List.of(
              "generate", "--input=" + input, "--output=" + dir.resolve("answers"),
              "--stagingLocation=" + staging, "--maxRequestsPerJob=2",
              "--apiKey=detach-key", "--baseUrl=" + emulator.baseUrl(), "--pollInterval=1");
      String[] detach = Stream.concat(args.stream(), Stream.of("--detach")).toArray(String[]::new);

      Cli submitted = Cli.run(Map.of(), detach);
      assertEquals(0, submitted.status, submitted.toString());
      JsonNode before = stats(emulator);
      long created = before.get("batchesCreated").asLong();
      assertEquals(3, created, "5 prompts, 2 per job");
      assertEquals(created, before.get("activeJobs").asLong(), "the jobs still run: " + before);
      assertEquals(created, before.get("jobsByState").path("BATCH_STATE_PENDING").asLong());
      assertEquals(0, outputFiles(dir), "a detached run writes no results");
      assertTrue(submitted.err.contains("detached: 3 batch jobs exist"), submitted.err);
      assertTrue(submitted.err.contains("to collect the results"), submitted.err);
      String collectLine = submitted.errLines().stream().filter(l -> l.startsWith("  java -jar")).findFirst().orElseThrow();
      assertFalse(collectLine.contains("--detach"), collectLine);
      assertFalse(collectLine.contains("detach-key"), "no key in what is printed: " + collectLine);

      // A second detached run of the same command reattaches: still no new job.
      Cli again = Cli.run(Map.of(), detach);
      assertEquals(0, again.status, again.toString());
      assertEquals(created, stats(emulator).get("batchesCreated").asLong());

      emulator.releaseJobs();
      Cli collected = Cli.run(Map.of(), args.toArray(new String[0]));
      assertEquals(0, collected.status, collected.toString());
      assertEquals(created, stats(emulator).get("batchesCreated").asLong(), "collecting creates no job");
      List<JsonNode> responses = Cli.outputs(dir.resolve("answers"), "responses");
      assertEquals(5, responses.size(), collected.toString());
      assertEquals(0, Cli.outputs(dir.resolve("answers"), "failures").size());
      assertTrue(responses.stream().anyMatch(r -> r.toString().contains("echo: gamma")), responses.toString());
    }
  }

  @Test
  void listenCollectsADetachedRunWhenItsJobsEventsArrive() throws Exception {
    Path input = dir.resolve("prompts.txt");
    Files.writeString(input, "one\ntwo\nthree\n");
    Path staging = dir.resolve("staging");
    Path events = dir.resolve("events.jsonl");
    try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(100)).start()) {
      emulator.holdJobs();
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
      try (java.io.PrintStream o = new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8);
          java.io.PrintStream e = new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8);
          ListenCommand.Listener listener =
              ListenCommand.start(
                  new String[] {
                    "--port=0", "--secret=" + emulator.webhookSigningSecret(), "--events=" + events,
                    "--stagingLocation=" + staging, "--apiKey=listen-key"
                  },
                  o, e, Map.of())) {
        Cli submitted =
            Cli.run(
                Map.of(),
                "generate", "--input=" + input, "--output=" + dir.resolve("answers"),
                "--stagingLocation=" + staging, "--apiKey=listen-key", "--baseUrl=" + emulator.baseUrl(),
                "--pollInterval=1", "--detach", "--webhookUri=" + listener.url + "/events");
        assertEquals(0, submitted.status, submitted.toString());
        long created = stats(emulator).get("batchesCreated").asLong();
        assertTrue(Files.exists(staging.resolve(DetachedRuns.FILE)));
        emulator.releaseJobs();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (listener.collector.collected.get() == 0 && System.nanoTime() < deadline) {
          java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
        }
        assertEquals(1, listener.collector.collected.get(), err.toString(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(3, Cli.outputs(dir.resolve("answers"), "responses").size());
        assertEquals(created, stats(emulator).get("batchesCreated").asLong(), "collecting creates no job");
        JsonNode first = Cli.JSON.readTree(Files.readAllLines(events).get(0));
        assertEquals(staging.toString() + "/", first.get("data").get("user_metadata").get("stagingLocation").asText());
      }
    }
  }

  @Test
  void detachNeedsAServiceThatOutlivesTheProcess() throws Exception {
    Path input = dir.resolve("p.txt");
    Files.writeString(input, "x\n");
    Cli r = Cli.run(Cli.NO_KEY, "generate", "--input=" + input, "--output=" + dir.resolve("o"), "--detach");
    assertEquals(2, r.status, r.toString());
    assertTrue(r.err.contains("--detach"), r.err);
  }
}
