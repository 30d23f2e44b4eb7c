package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.Await;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar as a user runs it, in processes of its own, against a standalone emulator
 * process: a run stopped (SIGTERM, as Ctrl-C) once its jobs exist, a second run of the same
 * command turned away meanwhile, and the same command run again, which must collect every job of
 * the first and create none twice ({@code /_emulator/stats}). Runs in the integration-test phase,
 * where the jar exists ({@code gemini.jar}).
 */
class StopAndRerunJarIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir Path tmp;
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void stopProcesses() throws InterruptedException {
    for (Process p : processes) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aStoppedRunIsCollectedByTheSameCommandWithoutCreatingAnyJobTwice() throws Exception {
    String jar = System.getProperty("gemini.jar");
    assumeTrue(jar != null, "runs in the integration-test phase, on the packaged jar");
    assertTrue(Files.isRegularFile(Path.of(jar)), jar);
    String url = startEmulator();

    Path input = tmp.resolve("prompts.txt");
    Files.write(input, IntStream.rangeClosed(1, 60).mapToObj(i -> "prompt number " + i).toList());
    List<String> command =
        List.of("java", "-jar", jar, "generate", "--input=prompts.txt", "--output=out/answers",
            "--baseUrl=" + url, "--apiKey=any-key", "--pollInterval=1", "--maxRequestsPerJob=10");
    Files.createDirectories(tmp.resolve("out"));

    // Two runs of the same command at once: one takes the staging location, the other is
    // turned away, having created nothing. (Started together, so that neither can finish before
    // the other has started, however slow the machine.)
    Process a = start(command, "a");
    Process b = start(command, "b");
    try {
      // Woken by the first exit, whichever run it is.
      java.util.concurrent.CompletableFuture.anyOf(a.onExit(), b.onExit())
          .get(3, java.util.concurrent.TimeUnit.MINUTES);
    } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
      throw new AssertionError("neither run was turned away within 3 minutes", e);
    }
    Process first = a.isAlive() ? a : b;
    Process second = first == a ? b : a;
    String secondName = first == a ? "b" : "a";
    String firstName = first == a ? "a" : "b";
    String secondErr = Files.readString(tmp.resolve(secondName + ".err"));
    assertEquals(1, second.exitValue(), secondErr);
    assertTrue(secondErr.contains("another run of this command holds its staging location"), secondErr);
    assertTrue(secondErr.contains("pid " + first.pid()), secondErr);

    Await.until(() -> jobsRecorded() >= 2 && stats(url).get("batchesCreated").asInt() >= 2, Duration.ofMinutes(3), "the first run's jobs");
    int before = stats(url).get("batchesCreated").asInt();
    assertTrue(first.isAlive(), "the first run is still running");

    first.destroy(); // SIGTERM, as Ctrl-C's SIGINT: the shutdown hook says what is left
    assertTrue(first.waitFor(2, TimeUnit.MINUTES), "the first run stops");
    String firstErr = Files.readString(tmp.resolve(firstName + ".err"));
    // The status of a JVM stopped by SIGTERM, passed on from the run's child JVM where there is one.
    assertEquals(143, first.exitValue(), firstErr);
    JsonNode afterFirst = stats(url);
    int created = afterFirst.get("batchesCreated").asInt();
    assertTrue(created >= before, afterFirst.toString());
    assertTrue(firstErr.matches("(?s).*gemini-batch: stopped\\. \\d+ batch jobs? (is|are) still running on the service.*"), firstErr);
    assertTrue(firstErr.contains("run the same command again to collect them without paying twice"), firstErr);
    assertTrue(firstErr.contains("jobs cancel NAME --baseUrl=" + url), firstErr);
    assertFalse(firstErr.contains("any-key"), "the API key was printed:\n" + firstErr);
    assertTrue(jobsRecorded() >= 2, "the staging location keeps the jobs' names");
    assertEquals(0, Cli.outputs(tmp.resolve("out/answers"), "responses").size(), "the first run wrote nothing");

    String rerunErr = rerunToItsEnd(command);
    assertTrue(rerunErr.contains("gemini-batch: resuming: "), rerunErr);

    JsonNode end = stats(url);
    Map<String, Integer> creates = eachCreatedOnce(end, rerunErr);
    assertEquals(creates.size(), end.get("batchesCreated").asInt(), end.toString());
    int submittedByRerun = Integer.parseInt(rerunErr.replaceAll("(?s).*batch jobs submitted: (\\d+).*", "$1"));
    assertEquals(creates.size() - created, submittedByRerun, "the rerun created only the jobs the first had not: " + rerunErr);
    assertEachAnsweredOnce(60, rerunErr);
    try (Stream<Path> left = Files.list(tmp.resolve("out"))) {
      assertEquals(List.of(), left.filter(p -> p.getFileName().toString().contains("staging")).toList(),
          "the staging location is deleted after a complete run");
    }
  }

  /**
   * Stopped after some of its jobs were collected (their responses on disk): those jobs must stay
   * in the ledger until the whole run is written, or the rerun would stage and pay for their
   * requests a second time (it did, before the command line cleaned up after the run instead of
   * job by job). One job may be active at a time, so that the jobs finish one after another.
   */
  @Test
  void aRunStoppedAfterSomeJobsWereCollectedPaysForNoneTwice() throws Exception {
    String jar = System.getProperty("gemini.jar");
    assumeTrue(jar != null, "runs in the integration-test phase, on the packaged jar");
    String url = startEmulator("--job-latency", "PT1S", "--max-active-jobs", "1");
    Path input = tmp.resolve("prompts.txt");
    Files.write(input, IntStream.rangeClosed(1, 30).mapToObj(i -> "collected prompt " + i).toList());
    Files.createDirectories(tmp.resolve("out"));
    List<String> command =
        List.of("java", "-jar", jar, "generate", "--input=prompts.txt", "--output=out/answers",
            "--baseUrl=" + url, "--apiKey=any-key", "--pollInterval=1", "--maxRequestsPerJob=10");

    Process first = start(command, "first");
    Await.until(() -> !first.isAlive() || responseFiles() >= 1, Duration.ofMinutes(3), "a job's responses on disk");
    assertTrue(first.isAlive(), "the first run is still running: " + Files.readString(tmp.resolve("first.err")));
    first.destroy();
    assertTrue(first.waitFor(2, TimeUnit.MINUTES), "the first run stops");
    String firstErr = Files.readString(tmp.resolve("first.err"));
    assertTrue(firstErr.contains("run the same command again to collect them without paying twice"), firstErr);

    String rerunErr = rerunToItsEnd(command);

    JsonNode end = stats(url);
    assertEquals(3, eachCreatedOnce(end, rerunErr).size(), end.toString());
    assertEachAnsweredOnce(30, rerunErr);
    // The clean-up after the run deleted every job and file it created.
    assertEquals(0, end.get("jobsByState").size(), "no job left on the service: " + end);
    assertEquals(0, end.get("filesStored").asInt(), "no file left on the service: " + end);
    try (Stream<Path> left = Files.list(tmp.resolve("out"))) {
      assertEquals(List.of(), left.filter(p -> p.getFileName().toString().contains("staging")).toList(),
          "the staging location is deleted after a complete run");
    }
  }

  /**
   * The jar's process runs a local run in a child JVM sized for it ({@link ChildJvm}). Killed
   * (SIGKILL: no chance to stop its child), it takes the child with it within seconds, which stops
   * as on SIGTERM: says what is left, frees the run's lock, and the same command again collects
   * the jobs, creating none twice.
   */
  @Test
  void aKilledJarProcessTakesItsRunsJvmWithIt() throws Exception {
    String jar = System.getProperty("gemini.jar");
    assumeTrue(jar != null, "runs in the integration-test phase, on the packaged jar");
    long childHeap = ChildJvm.heapBytes(Runtime.getRuntime().availableProcessors());
    // The class-data archive the build wrote beside the jar is reason enough for a child JVM (on
    // this machine, so is the smaller heap; -Dexec.skip builds without the archive).
    Path archive = Path.of(jar.replaceFirst("\\.jar$", ".jsa"));
    boolean smallerHeap = defaultMaxHeap("java") > childHeap;
    assumeTrue(Files.isRegularFile(archive) || smallerHeap, "neither an archive nor a smaller heap: no child JVM");
    String url = startEmulator();
    Files.write(tmp.resolve("prompts.txt"), IntStream.rangeClosed(1, 30).mapToObj(i -> "killed prompt " + i).toList());
    Files.createDirectories(tmp.resolve("out"));
    List<String> command =
        List.of("java", "-jar", jar, "generate", "--input=prompts.txt", "--output=out/answers",
            "--baseUrl=" + url, "--apiKey=any-key", "--pollInterval=1", "--maxRequestsPerJob=10");

    Process first = start(command, "first");
    Await.until(() -> !first.isAlive() || jobsRecorded() >= 1, Duration.ofMinutes(3), "a job recorded");
    assertTrue(first.isAlive(), Files.readString(tmp.resolve("first.err")));
    List<ProcessHandle> children = first.children().toList();
    assertEquals(1, children.size(), "the run's JVM: " + children);
    ProcessHandle child = children.get(0);
    List<String> childArgs = child.info().arguments().map(List::of).orElse(List.of());
    // Its heap only where that is below this machine's default (a smaller machine keeps its own).
    assertTrue(childArgs.isEmpty() || childArgs.contains("-Xmx" + (childHeap >> 20) + "m") == smallerHeap, childArgs.toString());
    assertTrue(childArgs.isEmpty()
        || childArgs.contains("-XX:SharedArchiveFile=" + archive.toAbsolutePath()) == Files.isRegularFile(archive), childArgs.toString());
    // The serial collector on two cores or fewer.
    assertTrue(childArgs.isEmpty()
        || childArgs.contains("-XX:+UseSerialGC") == (Runtime.getRuntime().availableProcessors() <= ChildJvm.SERIAL_GC_MAX_CORES),
        childArgs.toString());
    // The JIT compiles later (the test's JVM is started without options of the JIT).
    assertTrue(childArgs.isEmpty() || childArgs.contains("-XX:CompileThresholdScaling=" + ChildJvm.COMPILE_THRESHOLD_SCALING),
        childArgs.toString());

    first.destroyForcibly();
    child.onExit().get(1, TimeUnit.MINUTES);
    String firstErr = Files.readString(tmp.resolve("first.err"));
    assertTrue(firstErr.contains("gemini-batch: the process that started this run (pid " + first.pid() + ") ended: stopping"), firstErr);
    assertTrue(firstErr.contains("run the same command again to collect them without paying twice"), firstErr);

    String rerunErr = rerunToItsEnd(command);
    assertTrue(rerunErr.contains("gemini-batch: resuming: "), rerunErr);
    JsonNode end = stats(url);
    assertEquals(3, eachCreatedOnce(end, rerunErr).size(), end.toString());
    assertEachAnsweredOnce(30, rerunErr);
  }

  /** Runs {@code command} again as "rerun" to its end, which must be a success; its stderr. */
  private String rerunToItsEnd(List<String> command) throws IOException, InterruptedException {
    Process rerun = start(command, "rerun");
    assertTrue(rerun.waitFor(4, TimeUnit.MINUTES), "the rerun ends");
    String rerunErr = Files.readString(tmp.resolve("rerun.err"));
    assertEquals(0, rerun.exitValue(), rerunErr);
    return rerunErr;
  }

  /** The emulator's creates by display name ({@code /_emulator/stats}), each of which must be 1. */
  private static Map<String, Integer> eachCreatedOnce(JsonNode stats, String log) {
    Map<String, Integer> creates = new TreeMap<>();
    stats.get("createsByDisplayName").fields().forEachRemaining(e -> creates.put(e.getKey(), e.getValue().asInt()));
    assertEquals(Set.of(1), new HashSet<>(creates.values()), "every job created once: " + creates + "\n" + log);
    return creates;
  }

  /** {@code prompts} responses in {@code out/answers}, each key once, and no failure. */
  private void assertEachAnsweredOnce(int prompts, String log) throws IOException {
    List<JsonNode> responses = Cli.outputs(tmp.resolve("out/answers"), "responses");
    assertEquals(prompts, responses.size(), log);
    assertEquals(prompts, responses.stream().map(r -> r.get("key").asText()).collect(Collectors.toSet()).size(), log);
    assertEquals(List.of(), Cli.outputs(tmp.resolve("out/answers"), "failures"), log);
  }

  /**
   * The build writes the jar's class-data archive beside it ({@link CdsTraining}); a local run's
   * JVM maps the classes of its main path from it: thousands, where a broken archive (one whose
   * recorded class path does not match, say) would map none, silently. And its JIT compiles them:
   * on Java 17 an archive keeps the "queued for compilation" mark of every method that was in the
   * compile queue when the training JVM exited (JDK-8306460), and such a method is never compiled
   * in a run on the archive. The training run is interpreted for that reason; a method whose first
   * tiered event ({@code -XX:+PrintTieredEvents}) already finds it queued came so marked from the
   * archive: nothing else can have queued it before its first event. Which methods an archive
   * written with the JIT on freezes depends on the moment its JVM exits: this check found 7 and 28
   * of them in two such archives (the result reader's string scan among them), and none in a third,
   * whose frozen methods this run does not call often enough to report.
   */
  @Test
  void aLocalRunsJvmMapsItsClassesFromTheJarsArchiveAndCompilesThem() throws Exception {
    String jar = System.getProperty("gemini.jar");
    assumeTrue(jar != null, "runs in the integration-test phase, on the packaged jar");
    // The JVM the build wrote the archive with (another one, e.g. a different `java` on the PATH,
    // passes the archive over, as it should).
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    assertTrue(Files.isRegularFile(Path.of(jar.replaceFirst("\\.jar$", ".jsa"))), "the build wrote the archive");
    // As many prompts of 1 KB as the training run: the same steps, hot enough for the JIT.
    int prompts = CdsTraining.PROMPTS;
    String filler = "x".repeat(1000);
    Files.write(tmp.resolve("prompts.txt"), IntStream.rangeClosed(1, prompts).mapToObj(i -> "mapped prompt " + i + ": " + filler).toList());
    Process run = start(List.of(java, "-Xlog:class+load=info:file=" + tmp.resolve("classes-%p.log"),
        "-XX:+UnlockDiagnosticVMOptions", "-XX:+PrintTieredEvents", "-XX:+LogVMOutput", "-XX:-DisplayVMOutput",
        "-XX:LogFile=" + tmp.resolve("vm-%p.log") /* vm-pidNNN.log */, "-jar", jar, "generate", "--input=prompts.txt", "--output=out/answers"), "run");
    assertTrue(run.waitFor(3, TimeUnit.MINUTES), "the run ends");
    assertEquals(0, run.exitValue(), Files.readString(tmp.resolve("run.err")));
    assertEquals(prompts, Cli.outputs(tmp.resolve("out/answers"), "responses").size());
    Map<Boolean, Long> mapped = new TreeMap<>();
    Map<Boolean, Set<String>> queuedFromTheStart = new TreeMap<>();
    try (Stream<Path> logs = Files.list(tmp)) {
      for (Path log : logs.filter(p -> p.getFileName().toString().matches("(classes|vm)-(pid)?\\d+\\.log")).toList()) {
        String name = log.getFileName().toString();
        boolean launcher = Long.parseLong(name.replaceAll("\\D", "")) == run.pid();
        if (name.startsWith("classes-")) {
          try (Stream<String> lines = Files.lines(log)) {
            mapped.put(launcher, lines.filter(l -> l.contains("source: shared objects file (top)")).count());
          }
        } else {
          queuedFromTheStart.put(launcher, queuedAtTheirFirstEvent(log));
        }
      }
    }
    assertEquals(2, mapped.size(), "the jar's process and the run's: " + mapped);
    assertTrue(mapped.get(false) > 3000, "classes the run's JVM mapped from the archive: " + mapped);
    assertEquals(2, queuedFromTheStart.size(), "the JIT's events of both processes: " + queuedFromTheStart.keySet());
    assertEquals(Set.of(), queuedFromTheStart.get(false), "methods the run's JVM found queued before it queued them");
  }

  /**
   * The archive holds the classes of both paths a local run takes: the Direct runner's (a small
   * input) and the embedded Flink cluster's (a large one, {@link CdsTraining}'s second run). With
   * the Direct run alone it held 102 of Flink's classes, and a run of 300,000 prompts loaded
   * 3,150 of Flink's from the jar. The JVM lists an archive's classes without running anything.
   */
  @Test
  void theJarsArchiveHoldsTheClassesOfTheDirectRunnerAndOfTheEmbeddedFlinkCluster() throws Exception {
    String jar = System.getProperty("gemini.jar");
    assumeTrue(jar != null, "runs in the integration-test phase, on the packaged jar");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path archive = Path.of(jar.replaceFirst("\\.jar$", ".jsa")).toAbsolutePath();
    assertTrue(Files.isRegularFile(archive), "the build wrote the archive");
    Process list = start(List.of(java, "-XX:SharedArchiveFile=" + archive, "-XX:+PrintSharedArchiveAndExit",
        "-XX:+PrintSharedDictionary", "-cp", jar), "archive");
    assertTrue(list.waitFor(1, TimeUnit.MINUTES), "the listing ends");
    Set<String> classes;
    try (Stream<String> lines = Files.lines(tmp.resolve("archive.out"))) {
      // "  228: io.geminibatch.pipelines.EmbeddedFlink$Early app_loader"
      classes = lines.map(l -> l.trim().split("\\s+")).filter(f -> f.length >= 2 && f[0].endsWith(":"))
          .map(f -> f[1]).collect(Collectors.toSet());
    }
    for (String name : List.of("org.apache.beam.runners.direct.DirectRunner", "io.geminibatch.pipelines.EmbeddedFlink",
        "org.apache.flink.runtime.minicluster.MiniCluster", "org.apache.beam.runners.flink.FlinkBatchPipelineTranslator",
        "io.geminibatch.connector.AwaitJobFn")) {
      assertTrue(classes.contains(name), name + " in the archive (" + classes.size() + " classes listed)");
    }
    long flink = classes.stream().filter(c -> c.startsWith("org.apache.flink.")).count();
    assertTrue(flink > 3000, "Flink's classes in the archive: " + flink);
  }

  /** Methods whose first {@code -XX:+PrintTieredEvents} line in {@code log} has {@code status=in-queue}. */
  private static Set<String> queuedAtTheirFirstEvent(Path log) throws IOException {
    Pattern event = Pattern.compile("\\[(?:call|loop) level=\\d \\[(\\S+)\\] .* status=([a-z-]+)");
    Map<String, String> first = new HashMap<>();
    try (Stream<String> lines = Files.lines(log, StandardCharsets.ISO_8859_1)) {
      lines.forEach(l -> {
        Matcher m = event.matcher(l);
        if (m.find()) {
          first.putIfAbsent(m.group(1), m.group(2));
        }
      });
    }
    return first.entrySet().stream().filter(e -> e.getValue().equals("in-queue")).map(Map.Entry::getKey)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The heap a JVM started without memory options gets on this machine ({@code -XX:+PrintFlagsFinal}). */
  private static long defaultMaxHeap(String java) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(java, "-XX:+PrintFlagsFinal", "-version").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(1, TimeUnit.MINUTES));
    return out.lines().filter(l -> l.trim().startsWith("size_t MaxHeapSize"))
        .map(l -> Long.parseLong(l.trim().split("\\s+")[3])).findFirst().orElseThrow(() -> new AssertionError(out));
  }

  /** Response files the read step has put in place ({@code out/answers-responses-JOB-NNNNN.jsonl}). */
  private long responseFiles() {
    try (Stream<Path> files = Files.list(tmp.resolve("out"))) {
      return files.filter(p -> p.getFileName().toString().matches("answers-responses-.+-\\d{5}\\.jsonl")).count();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Jobs recorded in the first run's ledger ({@code out/answers-staging-*}/.../jobs/*.job). */
  private long jobsRecorded() {
    try (Stream<Path> files = Files.walk(tmp.resolve("out"))) {
      return files.filter(p -> p.getFileName().toString().endsWith(".job")).count();
    } catch (IOException e) {
      return 0; // being written or deleted
    }
  }

  private Process start(List<String> command, String name) throws IOException {
    Process p =
        new ProcessBuilder(command)
            .directory(tmp.toFile())
            .redirectOutput(tmp.resolve(name + ".out").toFile())
            .redirectError(tmp.resolve(name + ".err").toFile())
            .start();
    processes.add(p);
    return p;
  }

  /** A standalone emulator process on a free port; its jobs take 15 s, so that the first run is stopped while they run. */
  private String startEmulator(String... flags) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
        "io.geminibatch.testing.EmulatorMain", "--port", "0"));
    command.addAll(flags.length > 0 ? List.of(flags) : List.of("--job-latency", "PT15S"));
    Process emulator =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .start();
    processes.add(emulator);
    BufferedReader out = new BufferedReader(new InputStreamReader(emulator.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    assertTrue(line != null && line.startsWith("listening on "), String.valueOf(line));
    Thread drain = new Thread(() -> {
      try {
        while (out.readLine() != null) {
          // keep the pipe from filling
        }
      } catch (IOException e) {
        // the process ended
      }
    });
    drain.setDaemon(true);
    drain.start();
    return line.substring("listening on ".length()).trim();
  }

  private static JsonNode stats(String url) {
    try {
      HttpResponse<String> r =
          HTTP.send(HttpRequest.newBuilder(URI.create(url + "/_emulator/stats")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      return Cli.JSON.readTree(r.body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
