package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory does not grow with the batch: one job's shard is uploaded, and its result file read and
 * emitted, in a JVM of 512 MB of heap ({@link HeapCheck}, in a child process). The normal run
 * uses a 50 MB shard; {@code -Pheap-2g} (or {@code -DheapCheckBytes=N}) a 2 GB one.
 */
class HeapFlatnessTest {
  @TempDir Path dir;

  private String runInHalfAGigabyte(long stagedBytes) throws IOException, InterruptedException {
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-cp",
                System.getProperty("java.class.path"),
                HeapCheck.class.getName(),
                Long.toString(stagedBytes),
                dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("child.log").toFile())
            .start();
    assertTrue(child.waitFor(30, TimeUnit.MINUTES), "the check finished");
    String log = java.nio.file.Files.readString(dir.resolve("child.log"), StandardCharsets.UTF_8);
    assertEquals(0, child.exitValue(), log);
    List<String> ok = log.lines().filter(l -> l.startsWith("heap-check ok")).toList();
    assertEquals(1, ok.size(), log);
    return ok.get(0);
  }

  @Test
  void aShardIsUploadedAndItsResultsReadInHalfAGigabyteOfHeap() throws Exception {
    runInHalfAGigabyte(50_000_000L);
  }

  @Test
  @EnabledIfSystemProperty(named = "heapCheckBytes", matches = "\\d+")
  void aShardOfTheGivenSizeToo() throws Exception {
    System.out.println(runInHalfAGigabyte(Long.parseLong(System.getProperty("heapCheckBytes"))));
  }
}
