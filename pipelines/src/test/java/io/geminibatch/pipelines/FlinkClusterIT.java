package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.Await;
import io.geminibatch.testing.EmulatorResponder;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.flink.FlinkCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's jar on a real Flink session cluster (a JobManager and one-slot TaskManagers,
 * each its own JVM), its jobs running on the emulator, and a busy TaskManager killed mid-run.
 * Runs after the jar is built: {@code mvn verify -Pflink-cluster} (see pipelines/pom.xml).
 */
class FlinkClusterIT {
  static final String KEY = "cluster-test-key";
  static final Path JAR = Path.of("target", "gemini-batch.jar").toAbsolutePath();

  @TempDir Path tmp;

  @Test
  void aBatchRunSurvivesAKilledTaskManagerWithEveryPromptOnceAndNoJobTwice() throws Exception {
    assertTrue(Files.isRegularFile(JAR), "the command line's jar is built first (mvn verify): " + JAR);
    int count = 1200;
    Path input = tmp.resolve("prompts.jsonl");
    Map<String, String> expected = new HashMap<>();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String prompt = "Cluster prompt number " + i + ", please answer.";
      String request = "{\"contents\": [{\"parts\": [{\"text\": \"" + prompt + "\"}]}]}";
      lines.add("{\"key\": \"k" + i + "\", \"request\": " + request + "}");
      expected.put("k" + i, EmulatorResponder.generateText(request));
    }
    Files.write(input, lines, StandardCharsets.UTF_8);
    Path output = tmp.resolve("out");

    // Jobs that take long enough for a TaskManager to die while they run.
    long t0 = System.nanoTime();
    try (GeminiEmulator emulator = GeminiEmulator.builder().apiKey(KEY).jobLatency(Duration.ofSeconds(6)).start();
        FlinkCluster cluster = FlinkCluster.start(2)) {
      phase("cluster started", t0);
      Path log = Path.of("target", "flink-cluster-it-generate.log").toAbsolutePath();
      Process cli =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-jar",
                  JAR.toString(),
                  "generate",
                  "--input=" + input,
                  "--output=" + output,
                  "--runner=FlinkRunner",
                  "--flinkMaster=" + cluster.restAddress(),
                  "--parallelism=2",
                  "--baseUrl=" + emulator.baseUrl(),
                  "--apiKey=" + KEY,
                  "--pollInterval=1",
                  "--maxRequestsPerJob=100")
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      String victim;
      try {
        // Kill a TaskManager that holds a task while the service runs the jobs.
        List<String> busy = new ArrayList<>();
        Await.until(
            () -> {
              if (!cli.isAlive()) {
                throw new AssertionError("the command ended before its jobs ran:\n" + read(log));
              }
              if (emulator.stats().activeJobs() == 0) {
                return false;
              }
              busy.addAll(cluster.busyTaskManagers());
              return !busy.isEmpty();
            },
            Duration.ofMinutes(3),
            "jobs running on the service and a busy TaskManager");
        victim = busy.get(0);
        phase("jobs running, killing busy " + victim, t0);
        cluster.killTaskManager(victim);
        cluster.addTaskManager();

        assertTrue(cli.waitFor(5, TimeUnit.MINUTES), "the command did not end:\n" + read(log));
        assertEquals(0, cli.exitValue(), read(log));
        phase("command ended", t0);
      } finally {
        cli.destroyForcibly();
      }

      // Every prompt exactly once, each the answer to its own prompt; nothing failed.
      assertEquals(List.of(), Cli.outputs(output, "failures"));
      List<JsonNode> responses = Cli.outputs(output, "responses");
      Map<String, String> got = new HashMap<>();
      for (JsonNode r : responses) {
        assertEquals(null, got.put(r.get("key").asText(), GenerateCommandTest.answerText(r)), "twice: " + r.get("key"));
      }
      assertEquals(expected, got);

      // No batch job created twice, though the killed TaskManager's tasks ran again.
      Map<String, Long> creates = emulator.stats().createsByDisplayName();
      assertFalse(creates.isEmpty());
      creates.forEach((name, n) -> assertEquals(1L, n.longValue(), name));

      // Flink saw the TaskManager go and restarted the job's failed region.
      JsonNode jobs = cluster.rest("/jobs/overview").path("jobs");
      assertEquals(1, jobs.size(), jobs.toString());
      assertEquals("FINISHED", jobs.get(0).path("state").asText());
      String jid = jobs.get(0).path("jid").asText();
      JsonNode history = cluster.rest("/jobs/" + jid + "/exceptions").path("exceptionHistory").path("entries");
      assertTrue(history.size() >= 1, "Flink recorded no failure: " + history);
      assertTrue(history.toString().contains(victim), "the failure names the killed TaskManager " + victim + ": " + history);
      phase("checked", t0);
    }
    phase("cluster stopped", t0);
  }

  /** A line for the test's report: what happened, seconds since {@code t0}. */
  static void phase(String what, long t0) {
    System.out.printf("flink-cluster-it: %.1f s %s%n", (System.nanoTime() - t0) / 1e9, what);
  }

  static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
