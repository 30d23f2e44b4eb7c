package io.geminibatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
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
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Not a test: measures the emulator's CPU time for a file-batch workload. Starts the standalone
 * jar in a child process, uploads N prompts of ~1 KB split into files (resumable protocol, 8 MiB
 * chunks), runs one batch per file, downloads the results, and prints the child's CPU seconds
 * (from /proc/PID/stat) per phase.
 *
 * <pre>
 * java -cp target/test-classes:$(cat cp.txt) io.geminibatch.testing.EmulatorCpuBench \
 *     target/gemini-batch-emulator.jar 1000000 100 [extra JVM flags...]
 * </pre>
 */
public final class EmulatorCpuBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int CHUNK = 8 << 20;

  public static void main(String[] args) throws Exception {
    String jar = args[0];
    int prompts = Integer.parseInt(args[1]);
    int fileCount = Integer.parseInt(args[2]);
    List<String> cmd = new ArrayList<>();
    String wrap = System.getenv("EMU_WRAP"); // e.g. "strace -c -f -o /tmp/x"
    if (wrap != null && !wrap.isBlank()) {
      cmd.addAll(List.of(wrap.trim().split(" +")));
    }
    cmd.add("java");
    for (int i = 3; i < args.length; i++) {
      cmd.add(args[i]);
    }
    cmd.addAll(List.of("-jar", jar, "--port", "0", "--job-latency", "PT0S"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String first = r.readLine();
    while (first != null && !first.startsWith("listening on ")) {
      first = r.readLine(); // JVM logging (JFR, PrintCompilation)
    }
    if (first == null || !first.startsWith("listening on ")) {
      throw new IllegalStateException("emulator said: " + first);
    }
    String base = first.substring("listening on ".length()).trim();
    Thread drain =
        new Thread(
            () -> {
              try {
                String l;
                while ((l = r.readLine()) != null) {
                  System.err.println("[emu] " + l);
                }
              } catch (Exception e) {
                // gone
              }
            });
    drain.setDaemon(true);
    drain.start();
    long pid = p.pid();
    emulatorPid = pid;
    HttpClient client =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    try {
      // warm-up: a small batch so that the JIT has seen the paths (counted separately)
      double c0 = cpu(pid);
      run(client, base, 20_000, 2, "warm");
      double c1 = cpu(pid);
      threads(pid);
      long t0 = System.nanoTime();
      double[] phases = run(client, base, prompts, fileCount, "bench");
      double c2 = cpu(pid);
      System.out.printf(
          "startup+warmup %.2f cpu-s; benchmark %d prompts / %d files: %.2f cpu-s total"
              + " (upload %.2f, process+poll %.2f, download %.2f), wall %.1f s%n",
          c1, prompts, fileCount, c2 - c1, phases[0], phases[1], phases[2],
          (System.nanoTime() - t0) / 1e9);
      threads(pid);
      System.out.printf("process user %.2f sys %.2f (whole life)%n", cpuPart(pid, 11), cpuPart(pid, 12));
    } finally {
      p.destroy();
      p.waitFor();
    }
  }

  /** Prints the child's CPU by thread name (digits dropped), user and system. */
  static java.util.Map<String, double[]> before = new java.util.TreeMap<>();

  static void threads(long pid) throws Exception {
    java.util.Map<String, double[]> by = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        String stat = Files.readString(t.resolve("stat"));
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
            .replaceAll("[0-9]+", "#");
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        double[] v = by.computeIfAbsent(name, k -> new double[2]);
        v[0] += Long.parseLong(f[11]) / 100.0;
        v[1] += Long.parseLong(f[12]) / 100.0;
      }
    }
    java.util.Map<String, double[]> prev = before;
    before = by;
    if (prev.isEmpty()) {
      return;
    }
    by.forEach((k, v0) -> {
      double[] b = prev.getOrDefault(k, new double[2]);
      double[] v = {v0[0] - b[0], v0[1] - b[1]};
      if (v[0] + v[1] >= 0.05) {
        System.out.printf("  thread %-20s user %6.2f sys %6.2f%n", k, v[0], v[1]);
      }
    });
  }

  static double cpuPart(long pid, int field) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[field]) / 100.0;
  }

  /** The process's user + system CPU seconds. */
  static double cpu(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields after the comm: state is f[0]; utime is field 14 (f[11]), stime 15 (f[12])
    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
    return ticks / 100.0;
  }

  private static double[] run(HttpClient client, String base, int prompts, int fileCount, String tag)
      throws Exception {
    String ascii = randomAscii(1 << 16, 42);
    int perFile = (prompts + fileCount - 1) / fileCount;
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<Future<String>> names = new ArrayList<>();
    double[] phases = new double[3];
    long emuPid = emulatorPid;
    double c0 = emuPid > 0 ? cpu(emuPid) : 0;
    for (int f = 0; f < fileCount; f++) {
      int from = f * perFile;
      int to = Math.min(prompts, from + perFile);
      int idx = f;
      names.add(
          pool.submit(
              () -> upload(client, base, fileBytes(ascii, from, to), tag + "-" + idx)));
    }
    List<String> files = new ArrayList<>();
    for (Future<String> n : names) {
      files.add(n.get());
    }
    double c1 = emuPid > 0 ? cpu(emuPid) : 0;
    List<String> ops = new ArrayList<>();
    for (String file : files) {
      JsonNode op =
          post(
              client,
              base + "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
              "{\"batch\": {\"displayName\": \"b\", \"inputConfig\": {\"fileName\": \"" + file + "\"}}}");
      ops.add(op.get("name").asText());
    }
    List<String> results = new ArrayList<>();
    for (String op : ops) {
      while (true) {
        JsonNode o = get(client, base + "/v1beta/" + op);
        if (o.path("done").asBoolean(false)) {
          String state = o.path("metadata").path("state").asText();
          if (!"BATCH_STATE_SUCCEEDED".equals(state)) {
            throw new IllegalStateException(op + " ended " + o);
          }
          results.add(o.path("response").path("responsesFile").asText());
          break;
        }
        Thread.sleep(200);
      }
    }
    double c2 = emuPid > 0 ? cpu(emuPid) : 0;
    List<Future<Long>> sizes = new ArrayList<>();
    for (String res : results) {
      sizes.add(pool.submit(() -> download(client, base, res)));
    }
    long total = 0;
    for (Future<Long> s : sizes) {
      total += s.get();
    }
    double c3 = emuPid > 0 ? cpu(emuPid) : 0;
    pool.shutdown();
    System.out.println(tag + ": downloaded " + total + " result bytes");
    phases[0] = c1 - c0;
    phases[1] = c2 - c1;
    phases[2] = c3 - c2;
    return phases;
  }

  private static long emulatorPid = -1;

  private static String randomAscii(int n, long seed) {
    Random rnd = new Random(seed);
    StringBuilder sb = new StringBuilder(n);
    String alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,;:!?-";
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private static byte[] fileBytes(String ascii, int from, int to) {
    StringBuilder sb = new StringBuilder((to - from) * 1030);
    for (int i = from; i < to; i++) {
      int off = (int) ((i * 7919L) % (ascii.length() - 1000));
      sb.append("{\"key\":\"k-")
          .append(i)
          .append("\",\"request\":{\"contents\":[{\"parts\":[{\"text\":\"")
          .append(ascii, off, off + 950)
          .append("\"}],\"role\":\"user\"}]}}\n");
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String upload(HttpClient client, String base, byte[] bytes, String displayName)
      throws Exception {
    HttpResponse<String> start =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/upload/v1beta/files"))
                .header("x-goog-api-key", "k")
                .header("X-Goog-Upload-Protocol", "resumable")
                .header("X-Goog-Upload-Command", "start")
                .header("X-Goog-Upload-Header-Content-Length", Integer.toString(bytes.length))
                .header("X-Goog-Upload-Header-Content-Type", "application/jsonl")
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"file\": {\"displayName\": \"" + displayName + "\"}}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    String url = start.headers().firstValue("x-goog-upload-url").orElseThrow();
    String last = null;
    for (int off = 0; off < bytes.length; off += CHUNK) {
      int n = Math.min(CHUNK, bytes.length - off);
      boolean fin = off + n == bytes.length;
      HttpResponse<String> rep =
          client.send(
              HttpRequest.newBuilder(URI.create(url))
                  .header("x-goog-api-key", "k")
                  .header("X-Goog-Upload-Command", fin ? "upload, finalize" : "upload")
                  .header("X-Goog-Upload-Offset", Integer.toString(off))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(bytes, off, n))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (rep.statusCode() != 200) {
        throw new IllegalStateException(rep.body());
      }
      last = rep.body();
    }
    return JSON.readTree(last).get("file").get("name").asText();
  }

  private static JsonNode post(HttpClient client, String url, String body) throws Exception {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("x-goog-api-key", "k")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(r.body());
    }
    return JSON.readTree(r.body());
  }

  private static JsonNode get(HttpClient client, String url) throws Exception {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create(url)).header("x-goog-api-key", "k").GET().build(),
            HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  private static long download(HttpClient client, String base, String file) throws Exception {
    HttpResponse<InputStream> r =
        client.send(
            HttpRequest.newBuilder(
                    URI.create(base + "/download/v1beta/" + file + ":download?alt=media"))
                .header("x-goog-api-key", "k")
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    long n = 0;
    byte[] buf = new byte[1 << 16];
    try (InputStream in = r.body()) {
      int k;
      while ((k = in.read(buf)) > 0) {
        n += k;
      }
    }
    return n;
  }
}
