package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.beam.runners.dataflow.options.DataflowPipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default staging location derived from the run, and the lock that keeps a second run out. */
class StagingLocationsTest {
  @TempDir Path tmp;

  private GeminiBatchOptions options(String... more) throws UsageException {
    List<String> args = new java.util.ArrayList<>(List.of(more));
    if (args.stream().noneMatch(a -> a.startsWith("--input="))) {
      args.add("--input=" + tmp.resolve("in.txt"));
    }
    args.add("--output=" + tmp.resolve("out/answers"));
    return Args.parse(args.toArray(new String[0]), GenerateOptions.class);
  }

  @Test
  void theDefaultIsNextToTheOutputAndTheSameForTheSameRun() throws Exception {
    StagingLocations.Location a = StagingLocations.of("generate", options(), "http://x", false);
    StagingLocations.Location again = StagingLocations.of("generate", options(), "http://x", false);
    assertEquals(a.path, again.path);
    assertTrue(a.derived);
    assertFalse(a.temporary);
    assertTrue(a.path.matches(java.util.regex.Pattern.quote(tmp.resolve("out/answers").toString()) + "-staging-generate-[0-9a-f]{12}/"), a.path);

    assertNotEquals(a.path, StagingLocations.of("embed", options(), "http://x", false).path);
    assertNotEquals(a.path, StagingLocations.of("generate", options(), "http://other", false).path);
    assertNotEquals(a.path, StagingLocations.of("generate", options("--input=" + tmp.resolve("other.txt")), "http://x", false).path);
    assertEquals(
        StagingLocations.runId("generate", "in.txt", "out/a", "u"),
        StagingLocations.runId("generate", Path.of("in.txt").toAbsolutePath().toString(), "./out/../out/a", "u"),
        "a relative path names the same run as its absolute form");
  }

  @Test
  void givenLocationsWinAndTheBuiltInEmulatorGetsATemporaryOne() throws Exception {
    StagingLocations.Location given = StagingLocations.of("generate", options("--stagingLocation=" + tmp.resolve("mine")), "u", false);
    assertEquals(tmp.resolve("mine") + "/", given.path);
    assertFalse(given.derived);
    StagingLocations.Location temp = StagingLocations.of("generate", options("--tempLocation=" + tmp.resolve("t")), "u", false);
    assertTrue(temp.path.startsWith(tmp.resolve("t") + "/gemini-batch-generate-"), temp.path);
    StagingLocations.Location builtIn = StagingLocations.of("generate", options(), "u", true);
    assertTrue(builtIn.temporary);
    StagingLocations.deleteIfDone(builtIn, false);
    assertFalse(Files.exists(Path.of(builtIn.path)));
  }

  /**
   * --stagingLocation is also Dataflow's option (the jar carries its runner): it parses on every
   * runner, its unset value is never Dataflow's default, and on Dataflow the command's files go
   * to a subfolder of Dataflow's, which a complete run never deletes.
   */
  @Test
  void onDataflowAGivenLocationIsSharedThroughASubfolderAndTheDefaultStaysUnderTheTempLocation() throws Exception {
    GeminiBatchOptions unset = options("--tempLocation=gs://bkt/temp", "--runner=DataflowRunner");
    assertEquals(null, StagingLocations.given(unset));
    StagingLocations.Location derived = StagingLocations.of("generate", unset, "u", false);
    assertTrue(derived.derived);
    assertTrue(derived.path.matches("gs://bkt/temp/gemini-batch-generate-[0-9a-f]{12}/"), derived.path);

    GeminiBatchOptions given = options("--stagingLocation=gs://bkt/stage", "--runner=DataflowRunner");
    StagingLocations.Location shared = StagingLocations.of("generate", given, "u", false);
    assertEquals("gs://bkt/stage/" + Dataflow.STAGING_SUBFOLDER, shared.path);
    assertFalse(shared.derived, "never deleted");
    assertEquals("gs://bkt/stage", given.getStagingLocation(), "Dataflow's own value is left as given");

    // Dataflow's options are registered here (the jar registers them when asked for Dataflow):
    // the two declarations of stagingLocation coexist on every runner.
    assertTrue(PipelineOptionsFactory.getRegisteredOptions().contains(DataflowPipelineOptions.class));
    for (String runner : List.of("DirectRunner", "FlinkRunner")) {
      GeminiBatchOptions local = options("--stagingLocation=" + tmp.resolve("mine"), "--runner=" + runner);
      assertEquals(tmp.resolve("mine") + "/", StagingLocations.of("generate", local, "u", false).path, runner);
      assertEquals(null, StagingLocations.given(options("--runner=" + runner)), runner);
    }
  }

  @Test
  void aCompleteRunDeletesItsLocationUnlessTheLedgerStillHoldsJobs() throws Exception {
    StagingLocations.Location loc = StagingLocations.of("generate", options(), "u", false);
    Path jobs = Files.createDirectories(Path.of(loc.path, "gemini-batch-1234abcd", "jobs"));
    Files.writeString(jobs.resolve("s1-a1.intent"), "gbio-...\n");
    Files.writeString(jobs.resolve("s1-a1.job"), "batches/one\n\n");
    Files.writeString(jobs.resolve("s2-a1.intent"), "gbio-...\n");
    int[] creating = new int[1];
    assertEquals(List.of("batches/one"), StagingLocations.recordedJobs(loc, creating));
    assertEquals(1, creating[0]);
    assertEquals(1, StagingLocations.deleteIfDone(loc, false), "kept: a job is still recorded");
    assertTrue(Files.exists(jobs));
    Files.delete(jobs.resolve("s1-a1.job"));
    Files.delete(jobs.resolve("s1-a1.intent"));
    Files.delete(jobs.resolve("s2-a1.intent"));
    assertEquals(0, StagingLocations.deleteIfDone(loc, true), "--keepArtifacts keeps it");
    assertTrue(Files.exists(jobs));
    assertEquals(0, StagingLocations.deleteIfDone(loc, false));
    assertFalse(Files.exists(Path.of(loc.path)));
  }

  @Test
  void aSecondRunIsTurnedAwayWhileTheFirstHoldsTheLock() throws Exception {
    StagingLocations.Location loc = new StagingLocations.Location(tmp.resolve("s").toString(), true, false);
    try (RunLock first = RunLock.acquire(loc)) {
      RunLock.HeldException e = assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(loc));
      assertTrue(e.getMessage().startsWith("another run of this command holds its staging location " + loc.path
          + " (pid " + ProcessHandle.current().pid() + " on "), e.getMessage());
    }
    assertFalse(Files.exists(tmp.resolve("s").resolve(RunLock.FILE)), "released");
    RunLock.acquire(loc).close();
  }

  @Test
  void aLockWhoseRunHasDiedIsTakenOver() throws Exception {
    StagingLocations.Location loc = new StagingLocations.Location(tmp.resolve("s").toString(), true, false);
    Path file = Files.createDirectories(tmp.resolve("s")).resolve(RunLock.FILE);
    // A process of this host that has ended.
    Process ended = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-version").start();
    ended.waitFor();
    String host = java.net.InetAddress.getLocalHost().getHostName();
    Files.writeString(file, "pid=" + ended.pid() + "\nhost=" + host + "\nstarted=" + java.time.Instant.now().minusSeconds(5)
        + "\nheartbeat=" + System.currentTimeMillis() + "\ntoken=dead\n");
    try (RunLock lock = RunLock.acquire(loc)) {
      assertEquals(Long.toString(ProcessHandle.current().pid()), read(file).getProperty("pid"));
    }
    // Another host's run: live while its heartbeat is fresh, stale after STALE_SECONDS.
    Files.writeString(file, "pid=1\nhost=elsewhere\nstarted=2026-01-01T00:00:00Z\nheartbeat=" + System.currentTimeMillis() + "\ntoken=t\n");
    assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(loc));
    long old = System.currentTimeMillis() - (RunLock.STALE_SECONDS + 1) * 1000;
    Files.writeString(file, "pid=1\nhost=elsewhere\nstarted=2026-01-01T00:00:00Z\nheartbeat=" + old + "\ntoken=t\n");
    RunLock.acquire(loc).close();
  }

  private static Properties read(Path file) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    return p;
  }
}
