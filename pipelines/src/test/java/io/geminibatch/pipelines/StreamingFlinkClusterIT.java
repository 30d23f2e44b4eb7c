package io.geminibatch.pipelines;

import static io.geminibatch.pipelines.FlinkClusterIT.phase;
import static io.geminibatch.pipelines.FlinkClusterIT.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.Await;
import io.geminibatch.testing.EmulatorResponder;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.flink.FlinkCluster;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's streaming pipeline ({@link StreamingClusterPipeline}: prompts from an unbounded tick source through
 * generate(), fixed windows and a GroupByKey downstream, windowed file writes) on a real Flink
 * session cluster with checkpointing; once a checkpoint has completed after the first batch job
 * was created, a TaskManager running the job is killed and Flink restores the job from its last
 * checkpoint on the TaskManagers left. Every prompt is answered exactly once (in the files the
 * job committed), no batch job is created twice, and Flink recorded the failure and the restore.
 * The stream has no end, as a real one: once every answer is written the test cancels the job. Runs after the jar is built: {@code mvn verify
 * -Pflink-cluster} (see pipelines/pom.xml).
 */
class StreamingFlinkClusterIT {
  static final String KEY = "streaming-cluster-key";

  @TempDir Path tmp;

  @Test
  void aStreamRestoredFromACheckpointAfterAKilledTaskManagerAnswersEveryPromptOnce() throws Exception {
    assertTrue(Files.isRegularFile(FlinkClusterIT.JAR), "the command line's jar is built first (mvn verify): " + FlinkClusterIT.JAR);
    int ticks = 16;
    int perTick = 15;
    int total = ticks * perTick;
    long tickMillis = 500;
    Path pipelineJar = pipelineJar(tmp.resolve("streaming-pipeline.jar"));
    Path output = Files.createDirectories(tmp.resolve("out"));
    Path trace = tmp.resolve("trace");
    Map<String, String> expected = new HashMap<>();
    for (int i = 0; i < total; i++) {
      expected.put("k" + i, EmulatorResponder.ANSWER_PREFIX + StreamingClusterPipeline.prompt(i));
    }

    long t0 = System.nanoTime();
    // Three one-slot TaskManagers for a job of parallelism 2: one to spare for the restore.
    try (GeminiEmulator emulator = GeminiEmulator.builder().apiKey(KEY).jobLatency(Duration.ofSeconds(3)).start();
        FlinkCluster cluster = FlinkCluster.start(3)) {
      phase("cluster started", t0);
      Path log = Path.of("target", "streaming-flink-cluster-it.log").toAbsolutePath();
      Process submit =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  FlinkClusterIT.JAR + File.pathSeparator + pipelineJar,
                  StreamingClusterPipeline.class.getName(),
                  "--gb.baseUrl=" + emulator.baseUrl(),
                  "--gb.apiKey=" + KEY,
                  "--gb.staging=" + tmp.resolve("staging"),
                  "--gb.output=" + output,
                  "--gb.ticks=" + ticks,
                  "--gb.promptsPerTick=" + perTick,
                  "--gb.tickMillis=" + tickMillis,
                  "--gb.maxRequestsPerJob=40",
                  "--gb.trace=" + trace,
                  "--gb.bufferingMillis=2000",
                  "--gb.windowMillis=2000",
                  "--runner=FlinkRunner",
                  "--flinkMaster=" + cluster.restAddress(),
                  "--parallelism=2",
                  "--streaming=true",
                  "--checkpointingInterval=1000",
                  // The stream has no end: submit and return; the test cancels the job.
                  "--attachedMode=false")
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      Path watermarkTrace = Path.of("target", "streaming-flink-cluster-it-watermarks.txt").toAbsolutePath();
      AtomicReference<String> lastWatermarks = new AtomicReference<>("(none taken)");
      ScheduledExecutorService watermarks = Executors.newSingleThreadScheduledExecutor();
      String victim;
      String jid;
      try {
        assertTrue(submit.waitFor(3, TimeUnit.MINUTES), "the pipeline was not submitted:\n" + read(log));
        assertEquals(0, submit.exitValue(), read(log));
        JsonNode jobs = cluster.rest("/jobs/overview").path("jobs");
        assertEquals(1, jobs.size(), jobs.toString());
        jid = jobs.get(0).path("jid").asText();
        phase("submitted", t0);
        // Every 5 s, each step's input watermarks: printed if no window closes (which step held it).
        String job = jid;
        Files.writeString(watermarkTrace, "=== job " + jid + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        watermarks.scheduleAtFixedRate(
            () -> {
              try {
                String snapshot = String.format("%.1f s%n", (System.nanoTime() - t0) / 1e9) + cluster.watermarks(job);
                Files.writeString(watermarkTrace, snapshot, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                lastWatermarks.set(snapshot);
              } catch (RuntimeException | IOException restarting) {
                lastWatermarks.set("(no watermarks: " + restarting + ")");
              }
            },
            0,
            5,
            TimeUnit.SECONDS);

        // A batch job created on the service, then a checkpoint completed.
        Await.until(() -> emulator.stats().batchesCreated() >= 1, Duration.ofMinutes(2), "a batch job created");
        long before = completedCheckpoints(cluster, jid);
        Await.until(
            () -> completedCheckpoints(cluster, jid) > before,
            Duration.ofMinutes(1),
            "a checkpoint completed after the first batch job was created");
        List<String> busy = cluster.busyTaskManagers();
        assertEquals(2, busy.size(), "the job's two slots: " + cluster.registeredTaskManagers());
        victim = busy.get(0);
        phase("checkpoint completed with " + emulator.stats().batchesCreated() + " batch jobs created; killing " + victim, t0);
        cluster.killTaskManager(victim);

        // Restored, the stream goes on and every prompt's answer is written, in its window.
        try {
          Await.until(
              () -> {
                try {
                  return answers(output).keySet().containsAll(expected.keySet());
                } catch (IOException notYet) {
                  return false;
                }
              },
              Duration.ofMinutes(3),
              "every prompt's answer in the output");
        } catch (AssertionError timedOut) {
          // Which step held the watermark: the trace's last snapshot (all of it is in the file).
          throw new AssertionError(
              timedOut.getMessage() + "; input watermarks of each step, the last of the trace in " + watermarkTrace + ":\n"
                  + lastWatermarks.get(),
              timedOut);
        }
        phase("every answer written", t0);
        cluster.cancelJob(jid, Duration.ofMinutes(1));
        phase("job cancelled", t0);
      } finally {
        watermarks.shutdownNow();
        submit.destroyForcibly();
        keepLogs(cluster);
        List<String> traced = lines(trace, "trace-");
        phase(
            "responses out of generate() (a side effect, so replays count again): " + traced.size() + ", distinct "
                + traced.stream().map(l -> l.split("\t")[0]).distinct().count() + "; written: " + lines(output, "responses").size()
                + " lines in " + files(output, "responses").size() + " files; emulator " + emulator.stats().jobsByState(),
            t0);
      }

      // Every prompt answered exactly once, with its own answer, counted once in one window pane.
      assertEquals(List.of(), lines(output, "failures"));
      assertEquals(expected, answers(output));
      assertTrue(files(output, "responses").size() >= 2, "one window only: the windows were not exercised");

      // No batch job created twice, though the job was restored and its steps ran again.
      Map<String, Long> creates = emulator.stats().createsByDisplayName();
      assertFalse(creates.isEmpty());
      creates.forEach((name, n) -> assertEquals(1L, n.longValue(), name));

      // Flink saw the TaskManager go and restored the job from a checkpoint.
      JsonNode history = cluster.rest("/jobs/" + jid + "/exceptions").path("exceptionHistory").path("entries");
      assertTrue(history.toString().contains(victim), "the failure names the killed TaskManager " + victim + ": " + history);
      JsonNode checkpoints = cluster.rest("/jobs/" + jid + "/checkpoints");
      assertTrue(checkpoints.path("counts").path("restored").asLong() >= 1, "not restored from a checkpoint: " + checkpoints);
      assertTrue(checkpoints.path("latest").path("restored").has("id"), "no restored checkpoint: " + checkpoints);
      phase(
          "checked: " + total + " prompts, " + creates.size() + " batch jobs, " + files(output, "responses").size()
              + " window panes written, restored from checkpoint " + checkpoints.path("latest").path("restored").path("id"),
          t0);
    }
    phase("cluster stopped", t0);
  }

  /**
   * The output's {@code key TAB count TAB answer} lines as key -> answer; fails on a key answered
   * twice (a count above 1, or a second line).
   */
  static Map<String, String> answers(Path output) throws IOException {
    Map<String, String> answers = new HashMap<>();
    for (String line : lines(output, "responses")) {
      String[] f = line.split("\t", 3);
      assertEquals("1", f[1], "answered " + f[1] + " times in one window pane: " + line);
      assertEquals(null, answers.put(f[0], f[2]), "answered twice: " + f[0]);
    }
    return answers;
  }

  /** The cluster's logs into target/ (its run folder is deleted on close). */
  static void keepLogs(FlinkCluster cluster) throws IOException {
    Path keep = Files.createDirectories(Path.of("target", "streaming-flink-cluster-it"));
    try (Stream<Path> all = Files.walk(cluster.runDir())) {
      for (Path f : all.filter(f -> f.getFileName().toString().endsWith(".log")).collect(Collectors.toList())) {
        Files.copy(f, keep.resolve(f.getParent().getFileName() + "-" + f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  static long completedCheckpoints(FlinkCluster cluster, String jid) {
    return cluster.rest("/jobs/" + jid + "/checkpoints").path("counts").path("completed").asLong();
  }

  /** A jar of the user's pipeline classes, as a user ships theirs. */
  static Path pipelineJar(Path jar) throws IOException {
    Path classes = Path.of("target", "test-classes");
    String dir = StreamingClusterPipeline.class.getPackageName().replace('.', '/');
    String name = StreamingClusterPipeline.class.getSimpleName();
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream j = new JarOutputStream(out);
        Stream<Path> files = Files.list(classes.resolve(dir))) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith(name)).collect(Collectors.toList())) {
        j.putNextEntry(new JarEntry(dir + "/" + f.getFileName()));
        Files.copy(f, j);
        j.closeEntry();
      }
    }
    return jar;
  }

  /** The written files of a prefix (not the sink's temporary folders). */
  static List<Path> files(Path dir, String prefix) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().startsWith(prefix)).collect(Collectors.toList());
    }
  }

  static List<String> lines(Path dir, String prefix) throws IOException {
    List<String> all = new ArrayList<>();
    for (Path f : files(dir, prefix)) {
      try {
        all.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return all;
  }
}
