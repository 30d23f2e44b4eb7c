package io.geminibatch.pipelines;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * A local {@code generate} or {@code embed} run in a JVM of its own whose heap is sized for the
 * run, started by the {@code java -jar} process the user typed, which waits for it and exits
 * with its status.
 *
 * <p>Why: a jar cannot size its own JVM's heap, and left to itself the JVM takes a quarter of the
 * machine's memory, which G1 grows into while the read step makes garbage: 3.9 GB committed on a
 * 23 GB machine, a page fault for every new page (9% of the CPU samples at 300,000 prompts), when
 * the run's own memory is bounded by its budgets (a sixteenth of the heap per pack step, at most
 * 64 MB; streamed uploads and downloads). The same jar with a 1 or 2 GB heap took a fifth less
 * time and CPU at 1,000,000 prompts (README "Performance"). Elasticsearch's launcher and Spark's
 * {@code spark-submit} size the JVM they start the same way.
 *
 * <p>The heap is {@value #BASE_MB} MB plus {@value #PER_CORE_MB} MB per core (the embedded
 * cluster runs a pack step per core), where that is less than the JVM's own default (else the
 * default stays, and the child is for the rest alone): 2 GB on 2 cores,
 * as fast as 1 GB (with huge pages as without) and twice the room for what grows with a job's
 * request count (its keys' fingerprints, 16 bytes a key) when {@code --maxRequestsPerJob} is
 * raised far above its 10,000. Nothing is changed
 * when the user chose the memory ({@code -Xmx}, {@code -Xms}, {@code -XX:MaxRAMPercentage}, ...,
 * also through {@code JAVA_TOOL_OPTIONS}), when a debugger or agent is attached, on Windows
 * (whose {@code destroy} is a kill, not a stop), for runs on a remote runner (Dataflow, a Flink
 * cluster: this process only submits), or when {@value #SAME_JVM} is set (to anything but
 * {@code 0} or {@code false}).
 *
 * <p>On {@value #SERIAL_GC_MAX_CORES} cores or fewer the run's JVM gets the serial collector
 * unless the user chose one: at 1,000,000 prompts on 2 cores it took 14% less CPU than G1 (40.4
 * against 47.0 CPU-s, five pairs alternating, per thread sampled every 0.2 s, which leaves out
 * about 3 CPU-s either way; the C2 compiler alone 11.2 against 13.5) and 9% less time. On more
 * cores G1 stays: not measured.
 *
 * <p>The run's JVM compiles a method once it has run eight times as often as the JVM's default
 * ({@code -XX:CompileThresholdScaling=}{@value #COMPILE_THRESHOLD_SCALING}) unless the user chose
 * how the JIT compiles. A run is a short-lived batch process: its start-up (Beam's construction
 * and translation of the pipeline, Flink's cluster, Java serialization of every step) runs a few
 * thousand times and then never again, and the defaults compile much of it twice, with C1 and
 * then C2, while the steps' own loops run millions of times and are compiled all the same. On 2
 * cores at 1,000,000 prompts, two pairs alternating: the compilers' threads 6.4 and 5.9 CPU-s
 * against 11.5 and 12.8 (sampled per thread), the run 30.4 and 28.6 CPU-s against 31.4 and 35.5
 * ({@code getrusage}); 300,000 prompts 17.6 and 18.1 against 19.5 and 24.2. A factor of 16
 * compiled less still and was as cheap in its pairs, but kept the input's read-and-pack loops
 * longer in the lower tiers (4.4 to 5.0 CPU-s for that chain against 4.0 to 4.6); 8 is the
 * smaller departure from the defaults for about the same gain. It is not a reason to start a
 * child on its own.
 *
 * <p>Stopping is unchanged for the user: SIGTERM (or Ctrl-C, which reaches both processes) makes
 * this process send SIGTERM to the child, whose own stop notice says what is left and which exits;
 * this one then exits with the child's status. A child whose starter dies (SIGKILL) stops within
 * seconds, as on SIGTERM, so the run's lock is never held by an orphan for long.
 */
final class ChildJvm {
  /** Set in the child's environment: the pid of the process that started it. */
  static final String LAUNCHER_PID = "GEMINI_BATCH_LAUNCHER_PID";
  /** Set (not to 0 or false) to run in the process the user started. */
  static final String SAME_JVM = "GEMINI_BATCH_SAME_JVM";
  static final long BASE_MB = 1024;
  static final long PER_CORE_MB = 512;

  /** VM options by which a user chooses the heap: any of them given leaves the heap alone. */
  private static final List<String> MEMORY_OPTIONS =
      List.of("MaxHeapSize", "InitialHeapSize", "MinHeapSize", "MaxRAM", "MaxRAMPercentage", "MaxRAMFraction",
          "MinRAMPercentage", "MinRAMFraction", "InitialRAMPercentage", "InitialRAMFraction");

  /** VM options by which a user chooses the collector: any of them given leaves it alone. */
  private static final List<String> COLLECTOR_OPTIONS =
      List.of("UseSerialGC", "UseParallelGC", "UseG1GC", "UseZGC", "UseShenandoahGC", "UseEpsilonGC");
  /** Up to this many cores the run's JVM gets the serial collector (see {@link #childCommand}). */
  static final int SERIAL_GC_MAX_CORES = 2;

  /** VM options by which a user chooses when the JIT compiles: any of them given leaves it alone. */
  private static final List<String> JIT_OPTIONS =
      List.of("CompileThresholdScaling", "TieredCompilation", "TieredStopAtLevel", "CompileThreshold",
          "Tier3InvocationThreshold", "Tier3MinInvocationThreshold", "Tier3CompileThreshold", "Tier3BackEdgeThreshold",
          "Tier4InvocationThreshold", "Tier4MinInvocationThreshold", "Tier4CompileThreshold", "Tier4BackEdgeThreshold");
  /** How many times the JVM's default a method runs before it is compiled (see the class comment). */
  static final int COMPILE_THRESHOLD_SCALING = 8;

  private ChildJvm() {}

  /**
   * What of this JVM decides the child's command: {@code hugePages}, whether the kernel gives
   * transparent huge pages to memory that asks ({@code madvise} or {@code always}); {@code
   * archive}, the jar's class-data archive ({@link CdsTraining}) when there is one beside it, else
   * null.
   */
  record Jvm(
      String java,
      String classPath,
      List<String> inputArguments,
      long maxHeapBytes,
      boolean memoryGiven,
      boolean collectorGiven,
      boolean jitGiven,
      int cores,
      boolean windows,
      boolean hugePages,
      String archive) {

    static Jvm current() {
      HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      return new Jvm(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          System.getProperty("java.class.path"),
          ManagementFactory.getRuntimeMXBean().getInputArguments(),
          Runtime.getRuntime().maxMemory(),
          given(hotSpot, MEMORY_OPTIONS),
          given(hotSpot, COLLECTOR_OPTIONS),
          given(hotSpot, JIT_OPTIONS),
          Runtime.getRuntime().availableProcessors(),
          System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows"),
          transparentHugePages(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")),
          archiveBeside(System.getProperty("java.class.path")));
    }
  }

  /**
   * Whether the user set any of {@code names} (on the command line, in {@code JAVA_TOOL_OPTIONS}
   * or a flags file): an origin other than the JVM's default or its own choice.
   */
  private static boolean given(HotSpotDiagnosticMXBean hotSpot, List<String> names) {
    boolean given = false;
    for (String name : names) {
      try {
        VMOption.Origin origin = hotSpot.getVMOption(name).getOrigin();
        given |= origin != VMOption.Origin.DEFAULT && origin != VMOption.Origin.ERGONOMIC;
      } catch (IllegalArgumentException e) {
        // not an option of this JVM
      }
    }
    return given;
  }

  /** {@code gemini-batch.jsa} for {@code gemini-batch.jar} when that file exists; else null. */
  static String archiveBeside(String classPath) {
    if (classPath == null || !classPath.endsWith(".jar") || classPath.contains(java.io.File.pathSeparator)) {
      return null;
    }
    Path archive = Path.of(classPath.substring(0, classPath.length() - ".jar".length()) + ".jsa");
    return Files.isRegularFile(archive) ? archive.toAbsolutePath().toString() : null;
  }

  /** Whether {@code setting} (Linux's THP mode, e.g. {@code always [madvise] never}) gives huge pages to the heap. */
  static boolean transparentHugePages(Path setting) {
    try {
      String mode = Files.readString(setting);
      return mode.contains("[madvise]") || mode.contains("[always]");
    } catch (IOException | RuntimeException e) {
      return false; // not Linux, or not readable
    }
  }

  /** The heap of a child on {@code cores} cores. */
  static long heapBytes(int cores) {
    return (BASE_MB + PER_CORE_MB * Math.max(1, cores)) << 20;
  }

  /**
   * The command that runs {@code args} in a child JVM, or null when this process should run them
   * itself (see the class comment for when).
   */
  static List<String> childCommand(String[] args, Map<String, String> env, Supplier<Jvm> jvms) {
    if (launcherPid(env).isPresent() || args.length == 0) {
      return null;
    }
    String same = env.get(SAME_JVM);
    if (same != null && !same.isEmpty() && !same.equals("0") && !same.equalsIgnoreCase("false")) {
      return null;
    }
    if (!args[0].equals("generate") && !args[0].equals("embed")) {
      return null;
    }
    String runner = null;
    String flinkMaster = null;
    for (String a : args) {
      if (a.equals("--help") || a.equals("-h") || a.startsWith("--help=")) {
        return null;
      }
      if (a.startsWith("--runner=")) {
        runner = a.substring("--runner=".length());
        runner = runner.substring(runner.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
      } else if (a.startsWith("--flinkMaster=")) {
        flinkMaster = a.substring("--flinkMaster=".length());
      }
    }
    boolean local =
        runner == null
            || runner.equals("directrunner") || runner.equals("direct")
            || ((runner.equals("flinkrunner") || runner.equals("flink"))
                && (flinkMaster == null || flinkMaster.equals("[local]") || flinkMaster.equals("[auto]")));
    if (!local) {
      return null;
    }
    Jvm jvm = jvms.get();
    if (jvm.windows() || jvm.memoryGiven()) {
      return null;
    }
    for (String a : jvm.inputArguments()) {
      if (a.startsWith("-agentlib") || a.startsWith("-agentpath") || a.startsWith("-javaagent")
          || a.startsWith("-Xdebug") || a.startsWith("-Xrunjdwp")) {
        return null;
      }
    }
    long heap = heapBytes(jvm.cores());
    // A smaller machine's default heap (a quarter of its memory) stays: the run may need it.
    boolean smallerHeap = heap < jvm.maxHeapBytes();
    boolean hugePages =
        jvm.hugePages() && jvm.inputArguments().stream().noneMatch(a -> a.contains("HugePages") || a.contains("LargePages"));
    boolean archive =
        jvm.archive() != null
            && jvm.inputArguments().stream()
                .noneMatch(a -> a.startsWith("-Xshare") || a.contains("SharedArchiveFile") || a.contains("ArchiveClassesAtExit"));
    boolean serialGc = !jvm.collectorGiven() && jvm.cores() <= SERIAL_GC_MAX_CORES;
    if (!smallerHeap && !hugePages && !archive && !serialGc) {
      return null; // nothing to gain
    }
    List<String> command = new ArrayList<>();
    command.add(jvm.java());
    command.addAll(jvm.inputArguments());
    if (smallerHeap) {
      command.add("-Xmx" + (heap >> 20) + "m");
    }
    if (serialGc) {
      // A batch run on 2 cores: G1's concurrent threads and its larger write barriers (more
      // machine code for C2 to make, too) cost more than the serial collector's pauses.
      command.add("-XX:+UseSerialGC");
    }
    if (hugePages) {
      // The heap in 2 MB pages: a fault per 2 MB, not per 4 KB, as the collector first touches it.
      command.add("-XX:+UseTransparentHugePages");
    }
    if (!jvm.jitGiven()
        && jvm.inputArguments().stream().noneMatch(a -> a.equals("-Xint") || a.equals("-Xcomp") || a.equals("-Xmixed"))) {
      command.add("-XX:CompileThresholdScaling=" + COMPILE_THRESHOLD_SCALING);
    }
    if (archive) {
      // The classes the build's run loaded, mapped instead of loaded and verified again. An archive
      // this JVM cannot use (another JDK, a rebuilt jar) is passed over: quietly, as the JVM does
      // with its own.
      command.add("-XX:SharedArchiveFile=" + jvm.archive());
      command.add("-Xlog:cds*=off");
    }
    command.add("-cp");
    command.add(jvm.classPath());
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    return command;
  }

  /**
   * The pid of the process that started this one as its child JVM, when it did (its pid in
   * {@value #LAUNCHER_PID} is this process's parent's: a value inherited from further up is not).
   */
  static OptionalLong launcherPid(Map<String, String> env) {
    String value = env.get(LAUNCHER_PID);
    if (value == null) {
      return OptionalLong.empty();
    }
    try {
      long pid = Long.parseLong(value.trim());
      return ProcessHandle.current().parent().map(ProcessHandle::pid).filter(p -> p == pid).isPresent()
          ? OptionalLong.of(pid)
          : OptionalLong.empty();
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * Runs {@code command} with this process's standard streams, forwarding SIGTERM (and Ctrl-C's
   * SIGINT) to it as SIGTERM; returns its exit status, or -1 when it could not be started.
   */
  static int run(List<String> command, PrintStream err) throws InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
    builder.environment().put(LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
    Process child;
    try {
      child = builder.start();
    } catch (IOException e) {
      err.println("gemini-batch: cannot start a JVM for the run (" + e.getMessage() + "); running in this one");
      return -1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (child.isAlive()) {
        child.destroy(); // SIGTERM: the child says what is left (StopNotice) and exits
        try {
          Runtime.getRuntime().halt(child.waitFor());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }, "gemini-batch-stop-child"));
    return child.waitFor();
  }

  /**
   * In a child: stops this process (as SIGTERM would) when the process that started it ends
   * first, killed (it waits for the child otherwise). The JDK checks a process that is not this
   * one's child every few seconds at most.
   */
  static void stopWithLauncher(long launcherPid, PrintStream err) {
    ProcessHandle.of(launcherPid).ifPresent(launcher -> launcher.onExit().thenRun(() -> {
      err.println("gemini-batch: the process that started this run (pid " + launcherPid + ") ended: stopping");
      System.exit(143);
    }));
  }
}
