package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a command runs in a child JVM sized for it, and with what command line. */
class ChildJvmTest {
  private static final long GB = 1L << 30;

  private static ChildJvm.Jvm jvm(List<String> inputArguments, long maxHeap, boolean memoryGiven, int cores, boolean windows) {
    return new ChildJvm.Jvm(
        "/jdk/bin/java", "/x/gemini-batch.jar", inputArguments, maxHeap, memoryGiven, false, false, cores, windows, false, null);
  }

  private static final ChildJvm.Jvm LAPTOP = jvm(List.of("-Dfile.encoding=UTF-8"), 6 * GB, false, 2, false);

  private static List<String> command(Map<String, String> env, ChildJvm.Jvm jvm, String... args) {
    return ChildJvm.childCommand(args, env, () -> jvm);
  }

  @Test
  void aLocalRunGetsAHeapSizedForItsCoresAndTheSameArguments() {
    List<String> c = command(Map.of(), LAPTOP, "generate", "--input=p.txt", "--output=out/a");
    assertEquals(
        List.of("/jdk/bin/java", "-Dfile.encoding=UTF-8", "-Xmx2048m", "-XX:+UseSerialGC", "-XX:CompileThresholdScaling=8", "-cp",
            "/x/gemini-batch.jar", Main.class.getName(), "generate", "--input=p.txt", "--output=out/a"),
        c);
    assertTrue(command(Map.of(), jvm(List.of(), 16 * GB, false, 8, false), "embed", "--input=p").contains("-Xmx5120m"));
    for (String runner : List.of("--runner=FlinkRunner", "--runner=DirectRunner", "--runner=org.apache.beam.runners.flink.FlinkRunner")) {
      assertTrue(command(Map.of(), LAPTOP, "generate", runner, "--input=p") != null, runner);
    }
    assertTrue(command(Map.of(), LAPTOP, "generate", "--runner=FlinkRunner", "--flinkMaster=[local]") != null);
    assertTrue(command(Map.of(), LAPTOP, "generate", "--runner=FlinkRunner", "--flinkMaster=[auto]") != null);
  }

  @Test
  void otherwiseTheRunStaysInTheProcessTheUserStarted() {
    assertNull(command(Map.of(), LAPTOP));
    for (String c : List.of("jobs", "webhooks", "listen", "benchmark", "--help")) {
      assertNull(command(Map.of(), LAPTOP, c, "--input=p"), c);
    }
    assertNull(command(Map.of(), LAPTOP, "generate", "--help"));
    assertNull(command(Map.of(), LAPTOP, "generate", "--help=FlinkPipelineOptions"));
    // Remote runners: this process only submits.
    assertNull(command(Map.of(), LAPTOP, "generate", "--runner=DataflowRunner"));
    assertNull(command(Map.of(), LAPTOP, "generate", "--runner=FlinkRunner", "--flinkMaster=jobmanager:8081"));
    // The user chose the memory, or attached a debugger or agent.
    assertNull(command(Map.of(), jvm(List.of("-Xmx3g"), 3 * GB, true, 2, false), "generate"));
    assertNull(command(Map.of(), jvm(List.of("-agentlib:jdwp=transport=dt_socket,server=y,address=5005"), 6 * GB, false, 2, false), "generate"));
    assertNull(command(Map.of(), jvm(List.of("-javaagent:/a.jar"), 6 * GB, false, 2, false), "generate"));
    // Nothing to gain: the default heap is no larger, neither huge pages nor an archive, more than
    // two cores.
    assertNull(command(Map.of(), jvm(List.of(), 2 * GB, false, 4, false), "generate"));
    assertNull(command(Map.of(), jvm(List.of(), 6 * GB, false, 2, true), "generate"));
    // Asked not to.
    assertNull(command(Map.of(ChildJvm.SAME_JVM, "1"), LAPTOP, "generate"));
    assertNull(command(Map.of(ChildJvm.SAME_JVM, "true"), LAPTOP, "generate"));
    assertTrue(command(Map.of(ChildJvm.SAME_JVM, "0"), LAPTOP, "generate") != null);
    assertTrue(command(Map.of(ChildJvm.SAME_JVM, "false"), LAPTOP, "generate") != null);
  }

  @Test
  void onlyTheParentsPidMakesAChild() {
    long parent = ProcessHandle.current().parent().orElseThrow().pid();
    assertEquals(parent, ChildJvm.launcherPid(Map.of(ChildJvm.LAUNCHER_PID, Long.toString(parent))).getAsLong());
    assertNull(command(Map.of(ChildJvm.LAUNCHER_PID, Long.toString(parent)), LAPTOP, "generate"));
    // Inherited from further up (a child of a child): not this process's starter.
    String other = Long.toString(ProcessHandle.current().pid());
    assertFalse(ChildJvm.launcherPid(Map.of(ChildJvm.LAUNCHER_PID, other)).isPresent());
    assertTrue(command(Map.of(ChildJvm.LAUNCHER_PID, other), LAPTOP, "generate") != null);
    assertFalse(ChildJvm.launcherPid(Map.of(ChildJvm.LAUNCHER_PID, "x")).isPresent());
  }

  @Test
  void hugePagesAndTheClassDataArchiveWhereThereAreAndTheUserDidNotChoose() {
    ChildJvm.Jvm linux = new ChildJvm.Jvm("/jdk/bin/java", "gemini-batch.jar", List.of(), 6 * GB, false, false, false, 2, false, true, "/x/gemini-batch.jsa");
    assertEquals(
        List.of("/jdk/bin/java", "-Xmx2048m", "-XX:+UseSerialGC", "-XX:+UseTransparentHugePages", "-XX:CompileThresholdScaling=8",
            "-XX:SharedArchiveFile=/x/gemini-batch.jsa", "-Xlog:cds*=off", "-cp", "gemini-batch.jar", Main.class.getName(), "generate"),
        command(Map.of(), linux, "generate"));
    ChildJvm.Jvm chosen = new ChildJvm.Jvm("/jdk/bin/java", "gemini-batch.jar",
        List.of("-XX:-UseTransparentHugePages", "-Xshare:off", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1"), 6 * GB, false, true, true, 2,
        false, true, "/x/gemini-batch.jsa");
    assertEquals(
        List.of("/jdk/bin/java", "-XX:-UseTransparentHugePages", "-Xshare:off", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1", "-Xmx2048m",
            "-cp", "gemini-batch.jar", Main.class.getName(), "embed"),
        command(Map.of(), chosen, "embed"));
  }

  @Test
  void aSmallerMachinesDefaultHeapStaysAndTheChildIsForHugePagesOrTheArchive() {
    // 8 GB of memory, 4 cores: the default heap (2 GB) is below 1 GB + 4 x 512 MB.
    ChildJvm.Jvm laptop = new ChildJvm.Jvm("/jdk/bin/java", "gemini-batch.jar", List.of(), 2 * GB, false, false, false, 4, false, true, null);
    assertEquals(
        List.of("/jdk/bin/java", "-XX:+UseTransparentHugePages", "-XX:CompileThresholdScaling=8", "-cp", "gemini-batch.jar",
            Main.class.getName(), "generate"),
        command(Map.of(), laptop, "generate"));
    ChildJvm.Jvm noHugePages = new ChildJvm.Jvm("/jdk/bin/java", "gemini-batch.jar", List.of(), 2 * GB, false, false, false, 4, false, false, "/x/a.jsa");
    assertEquals(
        List.of("/jdk/bin/java", "-XX:CompileThresholdScaling=8", "-XX:SharedArchiveFile=/x/a.jsa", "-Xlog:cds*=off", "-cp",
            "gemini-batch.jar", Main.class.getName(), "generate"),
        command(Map.of(), noHugePages, "generate"));
  }

  @Test
  void theSerialCollectorOnTwoCoresUnlessTheUserChoseOne() {
    // 2 cores whose default heap is no larger, without huge pages or an archive: the collector
    // alone is reason enough for a child.
    assertEquals(
        List.of("/jdk/bin/java", "-XX:+UseSerialGC", "-XX:CompileThresholdScaling=8", "-cp", "/x/gemini-batch.jar",
            Main.class.getName(), "generate"),
        command(Map.of(), jvm(List.of(), 2 * GB, false, 2, false), "generate"));
    assertTrue(command(Map.of(), jvm(List.of(), 2 * GB, false, 1, false), "generate").contains("-XX:+UseSerialGC"));
    assertFalse(command(Map.of(), jvm(List.of(), 16 * GB, false, 3, false), "generate").contains("-XX:+UseSerialGC"));
    // A collector the user chose (on the command line or in JAVA_TOOL_OPTIONS) stays, alone.
    ChildJvm.Jvm parallel = new ChildJvm.Jvm("/jdk/bin/java", "/x/gemini-batch.jar", List.of("-XX:+UseParallelGC"), 6 * GB, false, true, false,
        2, false, false, null);
    assertEquals(
        List.of("/jdk/bin/java", "-XX:+UseParallelGC", "-Xmx2048m", "-XX:CompileThresholdScaling=8", "-cp", "/x/gemini-batch.jar",
            Main.class.getName(), "embed"),
        command(Map.of(), parallel, "embed"));
    assertNull(command(Map.of(), new ChildJvm.Jvm("/jdk/bin/java", "/x/gemini-batch.jar", List.of(), 2 * GB, false, true, false, 2, false,
        false, null), "generate"));
  }

  @Test
  void theJitCompilesLaterUnlessTheUserChoseHowItCompiles() {
    // An option of the JIT given (on the command line or in JAVA_TOOL_OPTIONS, which the child
    // inherits): the JIT is left alone, the rest of the command is the same.
    ChildJvm.Jvm given = new ChildJvm.Jvm("/jdk/bin/java", "/x/gemini-batch.jar", List.of(), 6 * GB, false, false, true, 2, false, false,
        null);
    assertEquals(
        List.of("/jdk/bin/java", "-Xmx2048m", "-XX:+UseSerialGC", "-cp", "/x/gemini-batch.jar", Main.class.getName(), "generate"),
        command(Map.of(), given, "generate"));
    for (String mode : List.of("-Xint", "-Xcomp", "-Xmixed")) {
      List<String> c = command(Map.of(), jvm(List.of(mode), 6 * GB, false, 2, false), "generate");
      assertTrue(c.contains(mode), mode);
      assertFalse(c.stream().anyMatch(a -> a.startsWith("-XX:CompileThresholdScaling")), mode);
    }
    // Not a reason for a child on its own: 4 cores, the default heap no larger, neither huge pages
    // nor an archive.
    assertNull(command(Map.of(), jvm(List.of(), 2 * GB, false, 4, false), "embed"));
  }

  @Test
  void theKernelsHugePageModeAndTheArchiveBesideTheJar(@TempDir Path dir) throws Exception {
    Path mode = dir.resolve("enabled");
    for (Map.Entry<String, Boolean> e : Map.of("always [madvise] never\n", true, "[always] madvise never\n", true,
        "always madvise [never]\n", false).entrySet()) {
      Files.writeString(mode, e.getKey());
      assertEquals(e.getValue(), ChildJvm.transparentHugePages(mode), e.getKey());
    }
    assertFalse(ChildJvm.transparentHugePages(dir.resolve("absent")));
    Path jar = Files.createFile(dir.resolve("gemini-batch.jar"));
    assertNull(ChildJvm.archiveBeside(jar.toString()));
    Path archive = Files.createFile(dir.resolve("gemini-batch.jsa"));
    assertEquals(archive.toAbsolutePath().toString(), ChildJvm.archiveBeside(jar.toString()));
    assertNull(ChildJvm.archiveBeside(jar + java.io.File.pathSeparator + "other.jar"));
    assertNull(ChildJvm.archiveBeside(dir.toString()));
  }

  @Test
  void thisJvmIsDescribed() {
    ChildJvm.Jvm here = ChildJvm.Jvm.current();
    // The build runs tests with -Xmx2g (surefire.argLine): a heap the user chose.
    assertTrue(here.memoryGiven(), here.inputArguments().toString());
    assertEquals(Runtime.getRuntime().maxMemory(), here.maxHeapBytes());
    assertTrue(here.java().endsWith("java"), here.java());
  }
}
