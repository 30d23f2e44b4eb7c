package io.geminibatch.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standalone emulator, run as a separate JVM as a user would run the jar. */
class EmulatorMainTest {
  private static final Pattern LISTENING = Pattern.compile("listening on (http://127\\.0\\.0\\.1:(\\d+))");

  @TempDir Path dir;

  /** Starts {@code EmulatorMain} in a new JVM with this test's class path. */
  static Process launch(List<String> jvmOptions, Path stderr, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(EmulatorMain.class.getName());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
  }

  /** Reads the first stdout line and returns the base URL it announces. */
  static String baseUrl(Process p) throws IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    Matcher m = LISTENING.matcher(first == null ? "" : first);
    assertTrue(m.matches(), "first line: " + first);
    assertTrue(Integer.parseInt(m.group(2)) > 0);
    return m.group(1);
  }

  static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
  }

  @Test
  void printsWhereItListensFirstAndServesUntilStopped() throws Exception {
    Path stderr = dir.resolve("stderr.txt");
    Process p =
        launch(List.of(), stderr,
            "--port", "0", "--job-latency=PT0S", "--api-key", "secret-key-123", "--verbose",
            "--reorder-inline", "--seed", "5");
    try {
      Http http = new Http(baseUrl(p));
      http.send("GET", "/v1beta/batches?key=secret-key-123", null).ok();
      http.send("GET", "/v1beta/batches", null, "x-goog-api-key", "wrong").error(400, "INVALID_ARGUMENT");
      Http.Reply created =
          http.send(
              "POST",
              "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
              Http.inlineBody("standalone", "a", "b", "c", "d", "e").getBytes(StandardCharsets.UTF_8),
              "x-goog-api-key", "secret-key-123");
      String name = created.ok().json().get("name").asText();
      Await.until(
          () ->
              http.send("GET", "/v1beta/" + name, null, "x-goog-api-key", "secret-key-123")
                  .json().path("done").asBoolean(false),
          java.time.Duration.ofSeconds(20),
          "the job to end");
      JsonNode stats = http.send("GET", "/_emulator/stats", null).ok().json();
      assertEquals(1, stats.get("batchesCreated").asInt());
      assertEquals(1, stats.get("faultsInjected").get("reorderInline").asInt(), "--reorder-inline applies");
    } finally {
      stop(p);
    }
    String log = Files.readString(stderr);
    assertTrue(log.contains("GET /v1beta/batches"), log);
    assertFalse(log.contains("secret-key-123"), "the API key is never logged");
    assertFalse(log.contains("key="), "nor the query that carries it");
  }

  private static Process run(Path stderr, String... args) throws Exception {
    Process p = launch(List.of(), stderr, args);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return p;
  }

  @Test
  void helpListsEveryFlagWithItsDefault() throws Exception {
    Process p = run(dir.resolve("err.txt"), "--help");
    String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue());
    for (String flag :
        new String[] {
          "--port", "--host", "--api-key", "--data-dir", "--job-latency", "--job-expiry",
          "--job-failure-rate", "--job-expiry-rate", "--request-error-rate", "--throttle-rate",
          "--unavailable-rate", "--drop-download-rate", "--stuck-job-rate", "--reorder-inline",
          "--omit-inline-metadata", "--lost-create-reply-rate", "--seed", "--verbose", "--help",
          "--max-active-jobs", "--enqueued-token-limit", "--spurious-quota-refusal-rate"
        }) {
      assertTrue(help.contains(flag), flag + " in\n" + help);
    }
    assertTrue(help.contains("(default: PT2S)") && help.contains("(default: PT48H)"), help);
    assertTrue(help.contains("(default: 127.0.0.1)"), help);
  }

  @Test
  void badFlagsExitWith2AndOneLineNamingFlagAndValue() throws Exception {
    String[][] cases = {
      {"--job-failure-rate", "1.5"},
      {"--port", "http"},
      {"--job-latency", "2s"},
      {"--job-expiry", "PT0S"},
      {"--seed", "x1"},
      {"--max-active-jobs", "-1"},
      {"--enqueued-token-limit", "gemini-2.5-flash=lots"},
      {"--reorder-inline=maybe"},
      {"--no-such-flag"},
    };
    for (String[] args : cases) {
      Path err = dir.resolve("err-" + args[0].replace("-", "") + ".txt");
      Process p = run(err, args);
      assertEquals(2, p.exitValue(), String.join(" ", args));
      List<String> lines = Files.readAllLines(err);
      assertEquals(1, lines.size(), lines.toString());
      String flag = args[0].contains("=") ? args[0].substring(0, args[0].indexOf('=')) : args[0];
      String value = args.length > 1 ? args[1] : args[0].contains("=") ? args[0].substring(args[0].indexOf('=') + 1) : "";
      assertTrue(lines.get(0).contains(flag) && lines.get(0).contains(value), lines.get(0));
    }
  }

  @Test
  void flagsParseInProcessToo() throws Exception {
    EmulatorMain.Options o =
        EmulatorMain.parse(new String[] {"--throttle-rate", "0.25", "--omit-inline-metadata=false", "--stuck-job-rate=1"});
    Quota q =
        EmulatorMain.parse(new String[] {"--max-active-jobs", "2", "--enqueued-token-limit=1000,models/gemini-2.5-pro=50"})
            .quota.build();
    assertEquals(2, q.maxActiveJobs());
    assertEquals(1000, q.enqueuedTokenLimit("gemini-2.5-flash"));
    assertEquals(50, q.enqueuedTokenLimit("models/gemini-2.5-pro"));
    Faults f = o.faults.build();
    assertEquals(0.25, f.throttleRate());
    assertEquals(1.0, f.stuckJobRate());
    assertFalse(f.omitInlineMetadata());
    assertEquals(
        new io.geminibatch.testing.vertex.VertexFaults(0.5, true),
        EmulatorMain.parse(new String[] {"--duplicate-row-rate=0.5", "--coerce-numeric-keys"}).vertexFaults());
  }
}
