package io.geminibatch.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code benchmark --coldProcesses}: the jar as users run it. Starts the standalone emulator as a
 * process of its own (jobs complete at once), then runs, in rounds that alternate their order:
 * {@code java -jar gemini-batch.jar generate} and {@code embed} as cold processes with the command
 * line a user types ({@code --apiKey --baseUrl --pollInterval=1}), Google's Node SDK doing the
 * Batch API's documented file flow on the same prompts ({@code sdk-batch-flow.mjs}), and, in this
 * process, the plain-loop baseline and the runner floor. Prints each figure with its ratio to the
 * SDK's time of the same round.
 *
 * <p>Phases come from one timeline, the emulator's clock, the same for every client: it records
 * when each endpoint's first call began and its last ended ({@code GET /_emulator/stats}); with the
 * process's start and end and the output files' last write, a run splits into start-up (to the
 * client's first call: the jar lists its jobs right before the pipeline starts), read and stage (to
 * the first upload), upload, service (last upload to first download: create and polls), download
 * and parse, write (last download to the last output written) and shutdown (to the exit). Where
 * several jobs overlap the cuts are the first and last calls of all of them.
 */
final class ColdProcessBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LISTENING = Pattern.compile("^listening on (http://\\S+)");
  private static final Pattern SDK_MARK = Pattern.compile("^sdk: mark (\\S+) (\\d+)");
  private static final Pattern SDK_RESULTS = Pattern.compile("^sdk: results (\\d+) (\\d+)");
  private static final String API_KEY = "benchmark-key";

  private final BenchmarkOptions options;
  private final Path work;
  private final PrintStream out;
  private final PrintStream err;
  private final HttpClient http = HttpClient.newHttpClient();
  private final long clockTicks = clockTicks();
  private String baseUrl;
  private long emulatorPid;

  ColdProcessBenchmark(BenchmarkOptions options, Path work, PrintStream out, PrintStream err) {
    this.options = options;
    this.work = work;
    this.out = out;
    this.err = err;
  }

  /** One measured run: its wall time and CPU, its phases, and whether every prompt came back. */
  private static final class Run {
    final String name;
    double seconds;
    double cpuSeconds = Double.NaN;
    /** Of {@link #cpuSeconds}, what the kernel spent for the process (page faults, I/O, sockets). */
    double systemSeconds = Double.NaN;
    double emulatorCpuSeconds = Double.NaN;
    /** What this benchmark's own process spent while the run ran: CPU it may have taken from the run. */
    double benchmarkCpuSeconds = Double.NaN;
    final Map<String, Double> phases = new LinkedHashMap<>();
    String complete = "n/a";
    boolean ok = true;

    Run(String name) {
      this.name = name;
    }

    /** Its time and CPU figures from the finished process {@code t}. */
    void took(Timed t) {
      seconds = t.seconds();
      cpuSeconds = t.childCpuSeconds;
      systemSeconds = t.childSystemSeconds;
      emulatorCpuSeconds = t.emulatorCpuSeconds;
      benchmarkCpuSeconds = t.ownCpuSeconds;
    }
  }

  void run(int prompts, int promptBytes, int embedPrompts) throws IOException, UsageException {
    Path jar = jarPath();
    Path emulatorJar = Path.of(options.getEmulatorJar() != null ? options.getEmulatorJar() : jar.getParent().resolve("../../testing/target/gemini-batch-emulator.jar").normalize().toString());
    if (!Files.isRegularFile(emulatorJar)) {
      throw new UsageException("--emulatorJar: no file " + emulatorJar + " (build it: mvn -pl testing -am -DskipTests package)");
    }
    String sdk = options.getNodeSdkScript();
    if (sdk != null && !Files.isRegularFile(Path.of(sdk))) {
      throw new UsageException("--nodeSdkScript: no file " + sdk);
    }
    Path promptFile = work.resolve("prompts.txt");
    long expected = BenchmarkCommand.writePrompts(promptFile, prompts, promptBytes);
    Path texts = work.resolve("texts.txt");
    long expectedTexts = BenchmarkCommand.writePrompts(texts, embedPrompts, promptBytes);
    figure("mode", "cold processes: the jar, the emulator and the SDK each in a process of its own");
    figure("jar", jar);
    figure("prompts", prompts);
    figure("promptBytes", promptBytes);
    figure("embed.prompts", embedPrompts);
    figure("cores", Runtime.getRuntime().availableProcessors());
    figure("loadAverage", loadAverage());

    Process emulator = startEmulator(emulatorJar);
    try {
      int rounds = options.getRounds();
      for (int round = 1; round <= rounds; round++) {
        figure("round", round + " of " + rounds);
        List<Run> runs = new ArrayList<>();
        Run sdkRun = null;
        // The SDK and generate change places every round; embed, the baseline and the floor follow.
        boolean sdkFirst = round % 2 == 1;
        if (sdkFirst && sdk != null) {
          sdkRun = sdk(sdk, promptFile, work.resolve("sdk"), prompts);
          runs.add(sdkRun);
        }
        runs.add(jar(jar, "generate", promptFile, work.resolve("generate"), prompts, expected));
        if (!sdkFirst && sdk != null) {
          sdkRun = sdk(sdk, promptFile, work.resolve("sdk"), prompts);
          runs.add(sdkRun);
        }
        runs.add(jar(jar, "embed", texts, work.resolve("embed"), embedPrompts, expectedTexts));
        runs.add(baseline(promptFile, prompts));
        runs.add(floor(promptFile, prompts, expected));
        for (Run r : runs) {
          report(r, sdkRun, prompts, embedPrompts);
        }
        figure("loadAverage", loadAverage());
        for (Run r : runs) {
          if (!r.ok) {
            throw new IOException(r.name + ": not every prompt came back exactly once (" + r.complete + ")");
          }
        }
      }
    } finally {
      emulator.destroy();
      try {
        emulator.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void report(Run r, Run sdk, int prompts, int embedPrompts) {
    String vsSdk = sdk != null && sdk != r && !r.name.equals("embed") ? String.format(Locale.ROOT, " (%.2fx the SDK's time)", r.seconds / sdk.seconds) : "";
    figure(r.name + ".seconds", seconds(r.seconds) + vsSdk);
    long n = r.name.equals("embed") ? embedPrompts : prompts;
    if (!Double.isNaN(r.cpuSeconds)) {
      figure(r.name + ".cpuSeconds", seconds(r.cpuSeconds)
          + String.format(Locale.ROOT, " (%.1f per million prompts; system %.1f)", r.cpuSeconds * 1e6 / n, r.systemSeconds));
    }
    if (!Double.isNaN(r.emulatorCpuSeconds)) {
      figure(r.name + ".emulatorCpuSeconds", seconds(r.emulatorCpuSeconds));
    }
    if (!Double.isNaN(r.benchmarkCpuSeconds)) {
      figure(r.name + ".benchmarkProcessCpuSeconds", seconds(r.benchmarkCpuSeconds));
    }
    if (!r.phases.isEmpty()) {
      StringBuilder b = new StringBuilder();
      r.phases.forEach((k, v) -> b.append(b.length() == 0 ? "" : ", ").append(k).append(' ').append(v == null ? "n/a" : seconds(v)));
      figure(r.name + ".phases", b);
    }
    figure(r.name + ".complete", r.complete);
  }

  // --- the contenders --------------------------------------------------------------------------

  /** {@code java -jar gemini-batch.jar COMMAND} as a user types it, against the emulator process. */
  private Run jar(Path jar, String command, Path input, Path dir, long prompts, long expectedKeys)
      throws IOException {
    BatchCommand.deleteTree(dir);
    Files.createDirectories(dir);
    List<String> cmd = new ArrayList<>();
    cmd.add(javaExecutable());
    if (options.getJarJavaOptions() != null && !options.getJarJavaOptions().isBlank()) {
      cmd.addAll(List.of(options.getJarJavaOptions().trim().split("\\s+")));
    }
    cmd.addAll(List.of("-jar", jar.toString(), command, "--input=" + input, "--output=" + dir.resolve("out"),
        "--apiKey=" + API_KEY, "--baseUrl=" + baseUrl, "--pollInterval=1"));
    Run r = new Run(command);
    Timed t = timed(cmd, dir.resolve("log.txt"));
    r.took(t);
    if (t.exit != 0) {
      r.ok = false;
      r.complete = "NO (exit status " + t.exit + ", see " + dir.resolve("log.txt") + ")";
      return r;
    }
    long lastWrite = lastModified(dir, "out-*");
    phases(r, t, firstCall(t.stats), lastWrite);
    long[] responses = BenchmarkCommand.readResults(dir, "out-responses-");
    long[] failures = BenchmarkCommand.readResults(dir, "out-failures-");
    r.ok = responses[0] == prompts && responses[1] == expectedKeys && failures[0] == 0;
    r.complete = (r.ok ? "yes" : "NO") + " (" + responses[0] + " responses, " + failures[0] + " failures, " + prompts + " prompts)";
    return r;
  }

  /** Google's Node SDK doing the documented file flow ({@code sdk-batch-flow.mjs}). */
  private Run sdk(String script, Path input, Path dir, long prompts) throws IOException {
    BatchCommand.deleteTree(dir);
    Files.createDirectories(dir);
    Path output = dir.resolve("out.jsonl");
    Run r = new Run("sdk");
    Timed t = timed(List.of("node", script, baseUrl, API_KEY, input.toString(), output.toString()), dir.resolve("log.txt"));
    r.took(t);
    long results = -1;
    long keysOk = -1;
    Long started = null;
    for (String line : Files.readAllLines(dir.resolve("log.txt"), StandardCharsets.UTF_8)) {
      Matcher m = SDK_MARK.matcher(line);
      if (m.find() && m.group(1).equals("started")) {
        started = Long.parseLong(m.group(2));
      }
      m = SDK_RESULTS.matcher(line);
      if (m.find()) {
        results = Long.parseLong(m.group(1));
        keysOk = Long.parseLong(m.group(2));
      }
    }
    if (t.exit == 0) {
      phases(r, t, started, Files.getLastModifiedTime(output).toMillis());
    }
    r.ok = t.exit == 0 && results == prompts && keysOk == prompts;
    r.complete = (r.ok ? "yes" : "NO") + " (" + results + " results, " + keysOk + " distinct keys answered, " + prompts + " prompts"
        + (t.exit != 0 ? ", exit status " + t.exit + ", see " + dir.resolve("log.txt") : "") + ")";
    BatchCommand.deleteTree(dir);
    return r;
  }

  private Run baseline(Path prompts, int n) throws IOException {
    sync();
    Run r = new Run("baseline");
    PlainLoopBaseline.Figures f = PlainLoopBaseline.run(prompts, work.resolve("baseline"), BenchmarkCommand.MODEL);
    r.seconds = f.seconds();
    r.phases.put("encodeUpload", f.uploadSeconds);
    r.phases.put("downloadParse", f.downloadSeconds);
    r.ok = f.lines == n;
    r.complete = (r.ok ? "yes" : "NO") + " (" + f.lines + " lines)";
    return r;
  }

  private Run floor(Path prompts, int n, long expectedKeys) throws IOException {
    sync();
    Run r = new Run("runnerFloor");
    GenerateOptions generate = options.as(GenerateOptions.class);
    r.seconds = BenchmarkCommand.runnerFloor(generate, prompts, work.resolve("floor"), n, expectedKeys);
    r.complete = "yes (in this process, warm: " + options.getRunner().getSimpleName() + ")";
    return r;
  }

  // --- processes and the timeline --------------------------------------------------------------

  /** A finished process: when it started and ended, its CPU and the emulator's, the emulator's timeline. */
  private static final class Timed {
    long startMillis;
    long endMillis;
    int exit;
    double childCpuSeconds;
    double childSystemSeconds;
    double emulatorCpuSeconds;
    double ownCpuSeconds;
    JsonNode stats;

    double seconds() {
      return (endMillis - startMillis) / 1000.0;
    }
  }

  private Timed timed(List<String> cmd, Path log) throws IOException {
    sync();
    settle();
    post("/_emulator/reset-stats");
    Timed t = new Timed();
    double[] self = times("/proc/self/stat");
    double[] emulator = times("/proc/" + emulatorPid + "/stat");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().remove("GEMINI_API_KEY");
    pb.environment().remove("GOOGLE_API_KEY");
    err.println("benchmark: running " + String.join(" ", cmd).replace(API_KEY, "***"));
    t.startMillis = System.currentTimeMillis();
    Process p = pb.start();
    try {
      t.exit = p.waitFor();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    t.endMillis = System.currentTimeMillis();
    // The child was reaped by waitFor: its CPU time is now counted as this process's children's.
    double[] selfAfter = times("/proc/self/stat");
    double[] emulatorAfter = times("/proc/" + emulatorPid + "/stat");
    t.childCpuSeconds = selfAfter[2] + selfAfter[3] - self[2] - self[3];
    t.childSystemSeconds = selfAfter[3] - self[3];
    t.emulatorCpuSeconds = emulatorAfter[0] + emulatorAfter[1] - emulator[0] - emulator[1];
    t.ownCpuSeconds = selfAfter[0] + selfAfter[1] - self[0] - self[1];
    t.stats = JSON.readTree(get("/_emulator/stats"));
    return t;
  }

  /** The jar's first call: the job list it takes right before its pipeline starts. */
  private static Long firstCall(JsonNode stats) {
    JsonNode first = stats.get("firstServedMillis");
    Long min = null;
    for (JsonNode v : first) {
      min = min == null ? v.asLong() : Math.min(min, v.asLong());
    }
    return min;
  }

  /** Cuts the run at the emulator's first and last calls (see the class comment). */
  private static void phases(Run r, Timed t, Long ready, long lastWrite) {
    JsonNode first = t.stats.get("firstServedMillis");
    JsonNode last = t.stats.get("lastServedMillis");
    Long uploadStart = millis(first, "files.upload.start");
    Long uploadEnd = millis(last, "files.upload.chunk");
    if (uploadStart == null) {
      // Inlined requests travel in the create call.
      uploadStart = millis(first, "batches.create");
      uploadEnd = millis(last, "batches.create");
    }
    Long downloadStart = millis(first, "files.download");
    Long downloadEnd = millis(last, "files.download");
    if (downloadStart == null) {
      // Inlined results come with the job's last read.
      downloadStart = millis(last, "batches.get");
      downloadEnd = downloadStart;
    }
    long[] cuts = {
      t.startMillis, orNaN(ready), orNaN(uploadStart), orNaN(uploadEnd), orNaN(downloadStart), orNaN(downloadEnd), lastWrite, t.endMillis
    };
    String[] names = {"startUp", "readStage", "upload", "service", "downloadParse", "write", "shutdown"};
    for (int i = 0; i < names.length; i++) {
      r.phases.put(names[i], cuts[i] < 0 || cuts[i + 1] < 0 ? null : (cuts[i + 1] - cuts[i]) / 1000.0);
    }
  }

  private static long orNaN(Long v) {
    return v == null ? -1 : v;
  }

  private static Long millis(JsonNode map, String endpoint) {
    JsonNode v = map == null ? null : map.get(endpoint);
    return v == null ? null : v.asLong();
  }

  /**
   * The emulator's data directory under {@code work}, empty. A given {@code --work} is kept, and
   * the emulator's files with it: an earlier run's (the SDK flow leaves its uploads and results,
   * 2.4 GB a round at 1,000,000 prompts; 15 GB after a few runs here) go before this one starts.
   */
  static Path freshEmulatorDir(Path work) throws IOException {
    Path dir = work.resolve("emulator");
    BatchCommand.deleteTree(dir);
    Files.createDirectories(dir);
    return dir;
  }

  private Process startEmulator(Path jar) throws IOException {
    Path dir = freshEmulatorDir(work);
    Process p =
        new ProcessBuilder(javaExecutable(), "-jar", jar.toString(), "--port", "0", "--job-latency", "PT0S", "--data-dir", dir.toString())
            .redirectErrorStream(true)
            .start();
    BufferedReader lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = lines.readLine()) != null) {
      Matcher m = LISTENING.matcher(line);
      if (m.find()) {
        baseUrl = m.group(1);
        break;
      }
    }
    if (baseUrl == null) {
      throw new IOException("the emulator at " + jar + " did not start");
    }
    // Keep draining its output, so that it never blocks on a full pipe.
    Thread drain = new Thread(() -> {
      try {
        while (lines.readLine() != null) {
          // discarded
        }
      } catch (IOException e) {
        // the emulator ended
      }
    }, "benchmark-emulator-output");
    drain.setDaemon(true);
    drain.start();
    emulatorPid = p.pid();
    figure("emulator", baseUrl + " (process " + emulatorPid + ", jobs complete at once)");
    return p;
  }

  private String get(String path) throws IOException {
    return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET().build());
  }

  private void post(String path) throws IOException {
    send(HttpRequest.newBuilder(URI.create(baseUrl + path)).POST(HttpRequest.BodyPublishers.noBody()).build());
  }

  private String send(HttpRequest request) throws IOException {
    try {
      HttpResponse<String> reply = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (reply.statusCode() != 200) {
        throw new IOException(request.uri() + ": HTTP " + reply.statusCode());
      }
      return reply.body();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** The jar this class runs from, or {@code --jar}. */
  private Path jarPath() throws UsageException {
    if (options.getJar() != null) {
      return Path.of(options.getJar()).toAbsolutePath();
    }
    try {
      Path self = Path.of(ColdProcessBenchmark.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isRegularFile(self)) {
        return self;
      }
    } catch (Exception e) {
      // fall through
    }
    throw new UsageException("--jar: not running from a jar; name pipelines/target/gemini-batch.jar");
  }

  private static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Writes back what earlier runs left in the page cache, so that no run pays for another's. */
  private static void sync() {
    try {
      new ProcessBuilder("sync").inheritIO().start().waitFor();
    } catch (IOException e) {
      // no sync on this system
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Waits until this process is idle (under 5% of a core for half a second; at most a minute), and
   * says how long that took and what this process spent meanwhile. The runner floor runs a
   * pipeline in this process, and what it leaves running (its collector, its compilers, its
   * embedded cluster's threads shutting down) would share the cores with the cold run after it.
   * Measured at 1,000,000 prompts, it had done so within 1.1 s (0.27 CPU-s), and this process
   * spent 0.10 to 0.16 CPU-s during each `generate` run.
   */
  private void settle() {
    long start = System.nanoTime();
    double first = ownCpuSeconds();
    System.gc();
    double before = ownCpuSeconds();
    long deadline = start + TimeUnit.MINUTES.toNanos(1);
    while (!Double.isNaN(before) && System.nanoTime() < deadline) {
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      double now = ownCpuSeconds();
      if (now - before < 0.025) {
        break;
      }
      before = now;
    }
    err.printf(Locale.ROOT, "benchmark: idle after %.1f s, using %.2f CPU-s meanwhile%n",
        (System.nanoTime() - start) / 1e9, ownCpuSeconds() - first);
  }

  /** CPU seconds of this process itself ({@code utime + stime}); NaN off Linux. */
  private double ownCpuSeconds() {
    double[] self = times("/proc/self/stat");
    return self[0] + self[1];
  }

  /**
   * {@code /proc/PID/stat}'s utime, stime, cutime and cstime (fields 14 to 17: the process's own,
   * then its reaped children's), in seconds, from one read; NaNs off Linux.
   */
  private double[] times(String stat) {
    double[] times = new double[4];
    try {
      String s = Files.readString(Path.of(stat));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      // f[0] is field 3 (state): field n is f[n - 3].
      for (int i = 0; i < 4; i++) {
        times[i] = Long.parseLong(f[14 + i - 3]) / (double) clockTicks;
      }
    } catch (IOException | RuntimeException e) {
      Arrays.fill(times, Double.NaN);
    }
    return times;
  }

  private static long clockTicks() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").start();
      String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
      p.waitFor();
      return Long.parseLong(s);
    } catch (IOException | RuntimeException e) {
      return 100;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 100;
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "n/a";
    }
  }

  /** The newest modification time of {@code dir/glob}, or -1. */
  private static long lastModified(Path dir, String glob) throws IOException {
    long newest = -1;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
      for (Path f : files) {
        newest = Math.max(newest, Files.getLastModifiedTime(f).toMillis());
      }
    }
    return newest;
  }

  private void figure(String name, Object value) {
    out.println(String.format(Locale.ROOT, "benchmark: %-32s %s", name, value));
    out.flush();
  }

  private static String seconds(double s) {
    return String.format(Locale.ROOT, "%.2f", s);
  }
}
