package io.geminibatch.pipelines;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The run the build makes to write the jar's class-data archive ({@code gemini-batch.jsa} beside
 * {@code gemini-batch.jar}; {@code pipelines/pom.xml}, {@code -XX:ArchiveClassesAtExit}): a
 * {@code generate} of {@value #PROMPTS} prompts of 1 KB (above the inline limit, so staged,
 * uploaded and read back) on the built-in emulator, the API key of the build's environment left
 * out. The JVM writes the classes the run loaded when it exits; {@link ChildJvm} starts a local
 * run's JVM on that archive, which maps those classes instead of loading and verifying them again
 * (README "Performance").
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
    deleteTree(dir);
    Files.createDirectories(dir);
    Path input = dir.resolve("prompts.txt");
    String filler = "x".repeat(1000);
    try (Writer w = Files.newBufferedWriter(input, StandardCharsets.UTF_8)) {
      for (int i = 0; i < PROMPTS; i++) {
        w.write("Prompt " + i + ": " + filler + "\n");
      }
    }
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream err = new PrintStream(log, true, StandardCharsets.UTF_8);
    long start = System.nanoTime();
    int status =
        Main.run(
            new String[] {"generate", "--input=" + input, "--output=" + dir.resolve("out/answers")},
            new PrintStream(OutputStream.nullOutputStream()),
            err,
            Map.of());
    if (status != 0) {
      System.err.print(log.toString(StandardCharsets.UTF_8));
    } else {
      System.out.printf("gemini-batch: class-data training run: %d prompts in %.1f s%n", PROMPTS, (System.nanoTime() - start) / 1e9);
    }
    deleteTree(dir);
    System.exit(status);
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
