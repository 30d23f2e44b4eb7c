package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.BatchJob;
import io.geminibatch.connector.client.BatchKind;
import io.geminibatch.connector.client.GeminiBatchClient;
import io.geminibatch.connector.client.GeminiClientConfig;
import io.geminibatch.connector.client.HttpGeminiBatchClient;
import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.testing.Await;
import io.geminibatch.testing.GeminiEmulator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The progress output over real HTTP against the emulator: off a terminal a line per job state
 * change (never one per poll) and summaries; on a terminal one status line rewritten in place.
 */
class JobWatcherTest {
  private static final byte[] TWO =
      ("[{\"request\":{\"contents\":[{\"parts\":[{\"text\":\"a\"}]}]},\"metadata\":{\"key\":\"a\"}},"
              + "{\"request\":{\"contents\":[{\"parts\":[{\"text\":\"b\"}]}]},\"metadata\":{\"key\":\"b\"}}]")
          .getBytes(StandardCharsets.UTF_8);

  private static String watch(boolean terminal, Duration summaryEvery) throws Exception {
    try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(600)).start();
        GeminiBatchClient client =
            new HttpGeminiBatchClient(
                GeminiClientConfig.builder().baseUrl(emulator.baseUrl()).apiKey(ApiKeyProvider.of("k")).build())) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
      List<String> names = new ArrayList<>();
      try (JobWatcher watcher = JobWatcher.start(client, err, Duration.ofMillis(20), terminal, summaryEvery)) {
        for (int i = 0; i < 3; i++) {
          names.add(client.createInlineBatch(BatchKind.GENERATE, "models/gemini-2.5-flash", "gbio-test-" + i, TWO).getName());
        }
        Await.until(() -> names.stream().allMatch(n -> done(client, n)), Duration.ofSeconds(60), "the jobs to finish");
        watcher.poll();
        for (String n : names) {
          client.deleteBatch(n);
        }
      }
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }

  private static boolean done(GeminiBatchClient client, String name) {
    try {
      return client.getBatch(name).map(BatchJob::getState).map(s -> s.isTerminal()).orElse(false);
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void offATerminalALinePerStateChangeNotPerPoll() throws Exception {
    String out = watch(false, Duration.ofDays(1));
    Map<String, List<String>> byJob = new HashMap<>();
    for (String line : out.lines().toList()) {
      assertTrue(line.startsWith("gemini-batch: ["), line);
      String[] words = line.replaceFirst("^gemini-batch: \\[ *[0-9.]+s\\] ", "").split(" ");
      if (words[0].startsWith("batches/")) {
        byJob.computeIfAbsent(words[0], k -> new ArrayList<>()).add(words[2]);
      }
    }
    assertEquals(3, byJob.size(), out);
    for (List<String> states : byJob.values()) {
      // e.g. PENDING, RUNNING, SUCCEEDED, results: each state once, in order, however many polls saw it.
      assertEquals(states.stream().distinct().toList(), states, out);
      assertEquals("SUCCEEDED", states.get(states.size() - 2), out);
      assertEquals("results", states.get(states.size() - 1), out);
    }
    assertTrue(out.lines().toList().get(out.lines().toList().size() - 1)
            .matches("gemini-batch: \\[ *[0-9.]+s\\] jobs: 3 collected; requests: 6/6 done, 0 failed; \\d+s elapsed"),
        "the closing summary:\n" + out);
    assertFalse(out.contains("\r"), out);
  }

  @Test
  void summariesComeAtTheirIntervalOffATerminal() throws Exception {
    String out = watch(false, Duration.ZERO);
    assertTrue(out.lines().filter(l -> l.contains("] jobs: ")).count() >= 2, out);
    assertTrue(out.contains(" RUNNING") || out.contains(" PENDING"), out);
  }

  @Test
  void onATerminalOneStatusLineRewrittenInPlace() throws Exception {
    String out = watch(true, Duration.ofDays(1));
    assertEquals(1, out.chars().filter(c -> c == '\n').count(), "one line, ended when the watch ends:\n" + out);
    assertTrue(out.chars().filter(c -> c == '\r').count() > 3, out);
    String last = out.substring(out.lastIndexOf('\r') + 1).strip();
    assertEquals("gemini-batch: jobs: 3 collected; requests: 6/6 done, 0 failed; 0s elapsed".replaceAll("\\d+s elapsed", ""),
        last.replaceAll("\\d+s elapsed", ""));
    assertTrue(out.contains("requests: 0/6 done") || out.contains("RUNNING") || out.contains("PENDING"), out);
  }

  /**
   * The jobs finished before the watch began are listed on the watcher's thread, not the
   * caller's; either way they are not reported: not after polls, nor when the watch is closed at
   * once (before its thread may have listed them, so its last poll does).
   */
  @Test
  void jobsFinishedBeforeTheWatchAreNotReported() throws Exception {
    try (GeminiEmulator emulator = GeminiEmulator.builder().jobLatency(Duration.ZERO).start();
        GeminiBatchClient client =
            new HttpGeminiBatchClient(
                GeminiClientConfig.builder().baseUrl(emulator.baseUrl()).apiKey(ApiKeyProvider.of("k")).build())) {
      String earlier = client.createInlineBatch(BatchKind.GENERATE, "models/gemini-2.5-flash", "gbio-earlier", TWO).getName();
      Await.until(() -> done(client, earlier), Duration.ofSeconds(60), "the earlier job to finish");
      for (boolean atOnce : new boolean[] {true, false}) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        String later = null;
        try (JobWatcher watcher = JobWatcher.start(client, err, Duration.ofMillis(20), false, Duration.ofDays(1))) {
          if (!atOnce) {
            // A run's first job comes seconds after the watch starts, so after its first list;
            // here it would come at once, and a job this emulator finishes before the watcher's
            // thread has listed would count as finished before (CI saw it). A poll first orders it.
            watcher.poll();
            String name = client.createInlineBatch(BatchKind.GENERATE, "models/gemini-2.5-flash", "gbio-later", TWO).getName();
            later = name;
            Await.until(() -> done(client, name), Duration.ofSeconds(60), "the later job to finish");
            watcher.poll();
          }
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(out.contains(earlier), (atOnce ? "closed at once" : "after polls") + ":\n" + out);
        if (!atOnce) {
          assertTrue(out.contains(later + " gbio-later SUCCEEDED"), out);
          client.deleteBatch(later);
        }
      }
    }
  }
}
