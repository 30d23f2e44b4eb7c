package io.geminibatch.pipelines;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The runs the build makes to write the jar's class-data archive ({@code gemini-batch.jsa} beside
 * {@code gemini-batch.jar}; {@code pipelines/pom.xml}, {@code -XX:ArchiveClassesAtExit}), on the
 * built-in emulator, the API key of the build's environment left out: a {@code generate} of
 * {@value #PROMPTS} prompts of 1 KB (above the inline limit, so staged, uploaded and read back),
 * which an input that small runs on the Direct runner, then the same on the embedded Flink
 * cluster that the command gives a large input ({@link Args#embeddedFlinkForTraining}). The JVM
 * writes the classes both runs loaded when it exits; {@link ChildJvm} starts a local run's JVM on
 * that archive, which maps those classes instead of loading and verifying them again (README
 * "Performance"). With the first run alone the archive held 102 of Flink's classes: a run of
 * 300,000 prompts on it still loaded 7,975 classes from elsewhere, 3,150 of them Flink's from
 * the jar. (Flink's RPC classes, about 1,100, come from a jar Flink unpacks at each start and
 * loads through a class loader of its own: no archive holds them.)
 *
 * <p>The build runs it interpreted ({@code -Xint}). What the archive holds does not depend on the
 * JIT, but the JIT's state leaks into it: Java 17 archives each method's "queued for compilation"
 * mark as it is when the JVM exits (JDK-8306460, fixed in Java 21), and a method so marked is
 * never compiled in a run on the archive. With the JIT on, 6 to 28 methods were caught that way,
 * hot ones among them ({@code FastResultLine.string}, {@code LineReader.offset}, {@code
 * Hash128.hash}); {@code StopAndRerunJarIT} looks for them.
 *
 * <p>Usage: {@code java -XX:ArchiveClassesAtExit=A -cp gemini-batch.jar
 * io.geminibatch.pipelines.CdsTraining WORK_DIR}. Exits with the run's status (the build fails
 * when the main job does not run); the work directory is deleted.
 */
public final class CdsTraining {
  static final int PROMPTS = 3000;

  private CdsTraining() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: CdsTraining WORK_DIR");
      System.exit(Main.USAGE);
    }
    OptionsRegistry.startEmpty();
    Path dir = Path.of(args[0]);
    BatchCommand.deleteTree(dir);
    Files.createDirectories(dir);
    Path input = dir.resolve("prompts.txt");
    String filler = "x".repeat(1000);
    try (Writer w = Files.newBufferedWriter(input, StandardCharsets.UTF_8)) {
      for (int i = 0; i < PROMPTS; i++) {
        w.write("Prompt " + i + ": " + filler + "\n");
      }
    }
    int status = run(input, dir.resolve("direct/answers"), "Direct runner");
    if (status == 0) {
      // Not an input over 32 MB, as a large run has: interpreted, that took the build 141 s.
      Args.embeddedFlinkForTraining = true;
      status = run(input, dir.resolve("flink/answers"), "embedded Flink");
    }
    BatchCommand.deleteTree(dir);
    System.exit(status);
  }

  /** A {@code generate} of {@code input}; prints its log when it fails. Returns its status. */
  private static int run(Path input, Path output, String runner) {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream err = new PrintStream(log, true, StandardCharsets.UTF_8);
    long start = System.nanoTime();
    int status =
        Main.run(
            new String[] {"generate", "--input=" + input, "--output=" + output},
            new PrintStream(OutputStream.nullOutputStream()),
            err,
            Map.of());
    if (status != 0) {
      System.err.print(log.toString(StandardCharsets.UTF_8));
    } else {
      System.out.printf(
          "gemini-batch: class-data training run: %d prompts, %s, in %.1f s%n", PROMPTS, runner, (System.nanoTime() - start) / 1e9);
    }
    return status;
  }
}
