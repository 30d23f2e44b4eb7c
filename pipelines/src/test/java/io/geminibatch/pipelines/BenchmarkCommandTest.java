package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark at a small size, so that it keeps working: every figure is printed once, and every
 * prompt came back. No timing is asserted (CI machines vary).
 */
class BenchmarkCommandTest {
  private static final List<String> RUN_FIGURES =
      List.of(
          "seconds", "promptsPerSecond", "mbPerSecondIn", "mbPerSecondOut", "ratioToBaseline", "ratioToRunnerFloor",
          "stageSeconds", "uploadSeconds", "serviceSeconds", "resultWaitSeconds", "downloadParseSeconds",
          "writeSeconds", "cpuSeconds", "emulatorCpuSeconds", "emulatorShareOfCpu", "peakHeapMB",
          "peakHeapAfterGcMB", "jobsCreated", "complete");

  @Test
  void printsEveryFigureOnceAndEveryPromptComesBack() {
    Cli run = Cli.run(Cli.NO_KEY, "benchmark", "--prompts=2000", "--promptBytes=200");
    assertEquals(0, run.status, run.toString());

    Map<String, String> figures =
        run.out.lines()
            .map(l -> l.split("\\s+", 3))
            .collect(Collectors.toMap(f -> f[1], f -> f.length > 2 ? f[2] : ""));
    List<String> expected =
        new ArrayList<>(
            List.of(
                "runner", "cores", "maxHeapMB", "prompts", "promptBytes", "baseline.seconds",
                "baseline.promptsPerSecond", "baseline.mbPerSecondIn", "baseline.mbPerSecondOut",
                "baseline.encodeUploadSeconds", "baseline.downloadParseSeconds", "runnerFloor.seconds",
                "runnerFloor.ratioToBaseline", "embed.prompts"));
    for (String f : RUN_FIGURES) {
      expected.add("generate." + f);
      expected.add("embed." + f);
    }
    assertEquals(expected.size(), run.out.lines().count(), run.out);
    assertEquals(expected.stream().sorted().toList(), figures.keySet().stream().sorted().toList());
    assertTrue(run.out.lines().allMatch(l -> l.startsWith("benchmark: ")), run.out);
    assertEquals("2000", figures.get("prompts"));
    assertEquals("200", figures.get("embed.prompts"));
    assertEquals("yes (2000 responses, 0 failures, 2000 prompts)", figures.get("generate.complete"));
    assertEquals("yes (200 responses, 0 failures, 200 prompts)", figures.get("embed.complete"));
    assertTrue(figures.get("runnerFloor.seconds").matches("\\d+\\.\\d\\d"), run.out);
    assertTrue(figures.get("generate.ratioToRunnerFloor").matches("\\d+\\.\\d\\d"), run.out);
    // The floor read generate's prompts: embed's texts have no floor of their own.
    assertEquals("n/a", figures.get("embed.ratioToRunnerFloor"));
  }

  @Test
  void aBadSizeIsABadCommandLine() {
    Cli run = Cli.run(Cli.NO_KEY, "benchmark", "--prompts=0");
    assertEquals(2, run.status, run.toString());
  }

  @Test
  void theColdBenchmarksEmulatorStartsWithoutAnEarlierRunsFiles(@TempDir Path work) throws Exception {
    Path stale = work.resolve("emulator/files/an-earlier-upload");
    Files.createDirectories(stale.getParent());
    Files.writeString(stale, "{}");
    Files.writeString(work.resolve("prompts.txt"), "kept\n");

    Path dir = ColdProcessBenchmark.freshEmulatorDir(work);

    assertEquals(work.resolve("emulator"), dir);
    assertTrue(Files.isDirectory(dir));
    try (java.util.stream.Stream<Path> left = Files.list(dir)) {
      assertEquals(0, left.count());
    }
    assertTrue(Files.exists(work.resolve("prompts.txt")), "only the emulator's directory goes");
  }
}
