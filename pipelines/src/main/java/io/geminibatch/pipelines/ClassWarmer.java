package io.geminibatch.pipelines;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Overlaps the loading of classes with the rest of start-up. A cold {@code generate} loads about
 * 8,000 classes of Beam, Flink and their libraries from the jar, one at a time, on the threads
 * that first touch them, while the main thread also spends seconds of CPU on Beam's option
 * parsing and on translating the pipeline. This daemon thread loads (without initializing) the
 * classes such a run loads, in the order it loads them ({@code warm-classes.txt}, from a run with
 * {@code -XX:DumpLoadedClassList}; JDK classes left out, they come from the JDK's shared archive),
 * on the second core, so that the main thread finds them loaded. A name that no longer exists is
 * skipped; the run does not depend on this thread, which only does earlier what would be done
 * anyway. To regenerate the list after a dependency changes: run {@code java -Xshare:off
 * -XX:DumpLoadedClassList=FILE -jar gemini-batch.jar generate ...} on an input large enough for
 * Flink (32 MB) and on a small one (Direct runner), and keep the union of the names, in order,
 * without JDK classes ({@code java/ javax/ jdk/ sun/ com/sun/}), lambda forms and generated
 * names ({@code Lambda}, {@code $$}).
 */
final class ClassWarmer {
  static final String LIST = "warm-classes.txt";

  private ClassWarmer() {}

  /** Starts loading the listed classes on a daemon thread. */
  static void start() {
    Thread t = new Thread(ClassWarmer::loadAll, "gemini-batch-class-loading");
    t.setDaemon(true);
    t.start();
  }

  /** Loads every listed class it can; returns how many. */
  static int loadAll() {
    ClassLoader loader = ClassWarmer.class.getClassLoader();
    int loaded = 0;
    try (InputStream in = ClassWarmer.class.getResourceAsStream(LIST)) {
      if (in == null) {
        return 0;
      }
      BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        try {
          Class.forName(line.replace('/', '.'), false, loader);
          loaded++;
        } catch (ClassNotFoundException | LinkageError e) {
          // Not in this build: the thread that needs it would not find it either.
        }
      }
    } catch (IOException e) {
      // A jar that cannot be read fails the run itself, on its own thread.
    }
    return loaded;
  }
}
