package io.geminibatch.testing.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.geminibatch.testing.Await;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A Flink 1.19 session cluster of separate JVMs on loopback: a JobManager ({@code
 * StandaloneSessionClusterEntrypoint}) and one-slot TaskManagers ({@code TaskManagerRunner}),
 * started from the Maven artifacts ({@code org.apache.flink:flink-clients:1.19.0} and an SLF4J
 * binding; {@code flink-dist} is not on Maven Central), the way Flink's own scripts start them:
 * {@code --configDir}, the JVM memory settings {@code BashJavaUtils} computes from it, and the Java
 * 17 flags of {@code env.java.opts.all}.
 *
 * <p>The configuration is {@code config.yaml} beside this class, plus, per run, free loopback ports
 * and a folder of its own for each process's temporary files and blobs (a killed TaskManager
 * leaves hundreds of MB behind; {@link #close} deletes the run's folder). Every process started is
 * remembered by its handle and stopped by its PID on {@link #close}, and by a shutdown hook if the
 * JVM that started them exits first.
 *
 * <p>From JUnit: {@code try (FlinkCluster c = FlinkCluster.start(2)) {...}}; from a shell: {@code
 * java -cp CLASSPATH io.geminibatch.testing.flink.FlinkCluster [TASKMANAGERS]} prints {@code
 * flink rest 127.0.0.1:PORT} and runs until its standard input ends.
 */
public final class FlinkCluster implements AutoCloseable {
  public static final String CONFIG_RESOURCE = "config.yaml";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final String classpath;
  private final Path runDir;
  private final Path configDir;
  private final List<String> javaOptions;
  private final List<String> tmJvm;
  private final List<String> tmDynamic;
  private final int restPort;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Process jobManager;
  private final Map<String, Process> taskManagers = new LinkedHashMap<>();
  private final Thread shutdownHook;
  private int nextTaskManager;

  private FlinkCluster(String classpath, Path runDir, int taskManagerCount) throws IOException {
    this.classpath = classpath;
    this.runDir = runDir;
    this.configDir = Files.createDirectories(runDir.resolve("conf"));
    this.restPort = freePort();
    String config;
    try (InputStream in = FlinkCluster.class.getResourceAsStream(CONFIG_RESOURCE)) {
      config = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    config +=
        "\n# This run's ports\n"
            + "jobmanager.rpc.port: " + freePort() + "\n"
            + "rest.port: " + restPort + "\n"
            + "blob.server.port: 0\n"
            + "taskmanager.rpc.port: 0\n"
            + "taskmanager.data.port: 0\n";
    Files.writeString(configDir.resolve("config.yaml"), config);
    this.javaOptions = splitOptions(configValue(config, "env.java.opts.all"));
    this.shutdownHook = new Thread(this::stopAll, "flink-cluster-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    try {
      List<List<String>> jm = resourceParams("GET_JM_RESOURCE_PARAMS");
      Path jmDir = Files.createDirectories(runDir.resolve("jobmanager"));
      List<String> jmArgs = new ArrayList<>(perProcess(jmDir));
      jmArgs.add("-D");
      jmArgs.add("web.tmpdir=" + jmDir.resolve("web"));
      jmArgs.addAll(jm.get(1));
      this.jobManager =
          launch("org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", jm.get(0), jmArgs, jmDir.resolve("jobmanager.log"));
      List<List<String>> tm = resourceParams("GET_TM_RESOURCE_PARAMS");
      this.tmJvm = tm.get(0);
      this.tmDynamic = tm.get(1);
      for (int i = 0; i < taskManagerCount; i++) {
        addTaskManager();
      }
      awaitTaskManagers(taskManagerCount, START_TIMEOUT);
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** A cluster of {@code taskManagers} one-slot TaskManagers on the Flink jars of this JVM's class path. */
  public static FlinkCluster start(int taskManagers) throws IOException {
    return start(taskManagers, classpathOfThisJvm());
  }

  /** A cluster on an explicit class path (e.g. {@code mvn dependency:build-classpath}'s). */
  public static FlinkCluster start(int taskManagers, String classpath) throws IOException {
    return new FlinkCluster(classpath, Files.createTempDirectory("flink-cluster-"), taskManagers);
  }

  /**
   * This JVM's class path without Beam, this project's own classes and JUnit: Flink, its
   * dependencies and an SLF4J binding. A job brings its own code (its jar is staged to the
   * cluster), as on a real cluster.
   */
  public static String classpathOfThisJvm() {
    // Surefire hands its forked JVMs the test class path in this property (java.class.path may
    // be a manifest-only jar).
    String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String cp =
        Arrays.stream(full.split(File.pathSeparator))
            .filter(e -> e.endsWith(".jar") && Files.isRegularFile(Path.of(e)))
            .filter(
                e -> {
                  String p = e.replace(File.separatorChar, '/');
                  return !p.contains("/org/apache/beam/")
                      && !p.contains("/io/geminibatch/")
                      && !p.contains("/org/junit/")
                      && !p.contains("/org/opentest4j/")
                      && !p.contains("/org/apiguardian/")
                      && !p.contains("surefire")
                      && !p.contains("/target/");
                })
            .collect(Collectors.joining(File.pathSeparator));
    if (!cp.contains("flink-runtime") || !cp.contains("slf4j")) {
      throw new IllegalStateException(
          "the class path holds no Flink runtime or SLF4J: put org.apache.flink:flink-clients:1.19.0 and an SLF4J binding on it");
    }
    return cp;
  }

  /** {@code 127.0.0.1:PORT}, the REST address a client submits to ({@code --flinkMaster}). */
  public String restAddress() {
    return "127.0.0.1:" + restPort;
  }

  /** This run's folder: the configuration, and each process's log, temporary files and blobs. */
  public Path runDir() {
    return runDir;
  }

  /** Starts one more one-slot TaskManager; returns its resource id. Does not wait for it to register. */
  public synchronized String addTaskManager() throws IOException {
    String id = "tm-" + nextTaskManager++;
    Path dir = Files.createDirectories(runDir.resolve(id));
    List<String> args = new ArrayList<>(perProcess(dir));
    args.add("-D");
    args.add("taskmanager.resource-id=" + id);
    args.addAll(tmDynamic);
    taskManagers.put(
        id, launch("org.apache.flink.runtime.taskexecutor.TaskManagerRunner", tmJvm, args, dir.resolve("taskmanager.log")));
    return id;
  }

  /** Kills a TaskManager's JVM at once (SIGKILL, as a crash or a lost machine) and waits for it to end. */
  public synchronized void killTaskManager(String id) throws InterruptedException {
    Process p = taskManagers.get(id);
    if (p == null) {
      throw new IllegalArgumentException("no TaskManager " + id + " was started here");
    }
    p.destroyForcibly();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("TaskManager " + id + " (pid " + p.pid() + ") did not die");
    }
  }

  /** The TaskManagers the JobManager knows: resource id -> free slots. */
  public Map<String, Integer> registeredTaskManagers() {
    Map<String, Integer> free = new LinkedHashMap<>();
    for (JsonNode tm : rest("/taskmanagers").path("taskmanagers")) {
      free.put(tm.path("id").asText(), tm.path("freeSlots").asInt());
    }
    return free;
  }

  /** The TaskManagers started here that are still alive and registered, with no free slot. */
  public List<String> busyTaskManagers() {
    List<String> busy = new ArrayList<>();
    registeredTaskManagers()
        .forEach(
            (id, free) -> {
              Process p = taskManagers.get(id);
              if (free == 0 && p != null && p.isAlive()) {
                busy.add(id);
              }
            });
    return busy;
  }

  /** Waits until at least {@code count} TaskManagers are registered with the JobManager. */
  public void awaitTaskManagers(int count, Duration timeout) {
    Await.until(
        () -> {
          checkAlive();
          try {
            return registeredTaskManagers().size() >= count;
          } catch (UncheckedIOException notYet) {
            return false;
          }
        },
        timeout,
        count + " TaskManagers to register");
  }

  /** GET on the JobManager's REST API, e.g. {@code /jobs/overview}. */
  public JsonNode rest(String path) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://" + restAddress() + path)).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("GET " + path + ": HTTP " + r.statusCode() + " " + r.body());
      }
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * One line per vertex of a running job: its name, status, each subtask's current input
   * watermark ({@code /jobs/<id>/vertices/<v>/watermarks}; {@code -inf} and {@code +inf} for
   * Long.MIN_VALUE and MAX_VALUE) and the records it sent ({@code numRecordsOut}, summed), to tell
   * which step holds a stream's watermark back and whether it still sends anything.
   */
  public String watermarks(String jobId) {
    StringBuilder out = new StringBuilder();
    for (JsonNode v : rest("/jobs/" + jobId).path("vertices")) {
      List<String> values = new ArrayList<>();
      for (JsonNode w : rest("/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/watermarks")) {
        String value = w.path("value").asText();
        values.add(
            value.equals(String.valueOf(Long.MIN_VALUE)) ? "-inf" : value.equals(String.valueOf(Long.MAX_VALUE)) ? "+inf" : value);
      }
      String name = v.path("name").asText();
      out.append(name, 0, Math.min(name.length(), 120)).append(" [").append(v.path("status").asText()).append("] ").append(values);
      // Records out, summed over subtasks: tells a step that stopped from one whose watermark did.
      for (JsonNode m : rest("/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/subtasks/metrics?get=numRecordsOut&agg=sum")) {
        out.append(" out=").append(m.path("sum").asLong());
      }
      out.append('\n');
    }
    return out.toString();
  }

  /** Cancels a job ({@code PATCH /jobs/<id>?mode=cancel}) and waits until Flink reports it cancelled. */
  public void cancelJob(String jobId, Duration timeout) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create("http://" + restAddress() + "/jobs/" + jobId + "?mode=cancel"))
                  .method("PATCH", HttpRequest.BodyPublishers.noBody())
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 202) {
        throw new IOException("cancel " + jobId + ": HTTP " + r.statusCode() + " " + r.body());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    Await.until(() -> rest("/jobs/" + jobId).path("state").asText().equals("CANCELED"), timeout, "job " + jobId + " to be cancelled");
  }


  /** Stops every process started here (by PID) and deletes the run's folder. */
  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException exiting) {
      // The JVM is already shutting down: the hook runs stopAll.
    }
    deleteRecursively(runDir);
  }

  private void checkAlive() {
    if (jobManager != null && !jobManager.isAlive()) {
      throw new IllegalStateException(
          "the JobManager exited with " + jobManager.exitValue() + "; its log: " + runDir.resolve("jobmanager/jobmanager.log"));
    }
  }

  private synchronized void stopAll() {
    List<Process> all = new ArrayList<>(taskManagers.values());
    if (jobManager != null) {
      all.add(jobManager);
    }
    for (Process p : all) {
      p.toHandle().destroy(); // SIGTERM to this PID: Flink shuts down cleanly
    }
    for (Process p : all) {
      try {
        if (!p.waitFor(15, TimeUnit.SECONDS)) {
          p.toHandle().destroyForcibly();
          p.waitFor(15, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.toHandle().destroyForcibly();
      }
    }
  }

  /** A process's own folders, as dynamic properties. */
  private static List<String> perProcess(Path dir) throws IOException {
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Path blobs = Files.createDirectories(dir.resolve("blobs"));
    return List.of("-D", "io.tmp.dirs=" + tmp, "-D", "blob.storage.directory=" + blobs);
  }

  private Process launch(String mainClass, List<String> jvm, List<String> args, Path log) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(javaOptions);
    command.addAll(jvm);
    command.add("-Dlog.file=" + log);
    command.add("-cp");
    command.add(classpath);
    command.add(mainClass);
    command.add("--configDir");
    command.add(configDir.toString());
    command.addAll(args);
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
  }

  /**
   * What Flink's scripts ask {@code BashJavaUtils} for: the JVM's memory flags, then the dynamic
   * properties that fix the memory layout, from this run's configuration.
   */
  private List<List<String>> resourceParams(String command) throws IOException {
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp",
            classpath,
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
            command,
            "--configDir",
            configDir.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    String prefix = "BASH_JAVA_UTILS_EXEC_RESULT:";
    List<List<String>> results =
        out.lines()
            .filter(l -> l.startsWith(prefix))
            .map(l -> splitOptions(l.substring(prefix.length())))
            .collect(Collectors.toList());
    if (p.exitValue() != 0 || results.isEmpty()) {
      throw new IOException("BashJavaUtils " + command + " failed (exit " + p.exitValue() + "):\n" + out);
    }
    if (results.size() == 1) {
      results.add(List.of());
    }
    return results;
  }

  private static List<String> splitOptions(String s) {
    return Arrays.stream(s.trim().split("\\s+")).filter(t -> !t.isEmpty()).collect(Collectors.toList());
  }

  private static String configValue(String config, String key) {
    return config
        .lines()
        .filter(l -> l.startsWith(key + ":"))
        .map(l -> l.substring(key.length() + 1).trim())
        .findFirst()
        .orElse("");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
              Files.deleteIfExists(d);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      System.err.println("flink-cluster: could not delete " + dir + ": " + e);
    }
  }

  /**
   * {@code java -cp CP io.geminibatch.testing.flink.FlinkCluster [TASKMANAGERS]}: starts a cluster
   * on the Flink jars of CP, prints {@code flink rest 127.0.0.1:PORT} once every TaskManager has
   * registered, and stops it when standard input ends (or the process is terminated).
   */
  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    try (FlinkCluster cluster = start(count)) {
      System.out.println("flink rest " + cluster.restAddress());
      System.out.println("flink run folder " + cluster.runDir());
      System.out.flush();
      System.in.transferTo(java.io.OutputStream.nullOutputStream());
    }
  }
}
