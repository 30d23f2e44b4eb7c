package io.geminibatch.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Runs the command line in this JVM and keeps what it printed. */
final class Cli {
  static final ObjectMapper JSON = new ObjectMapper();
  /** No API key in this environment: the batch commands start the built-in emulator. */
  static final Map<String, String> NO_KEY = Map.of();
  static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();

  final int status;
  final String out;
  final String err;

  private Cli(int status, String out, String err) {
    this.status = status;
    this.out = out;
    this.err = err;
  }

  static Cli run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      status = Main.run(args, o, e, env);
    }
    return new Cli(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** The lines of stderr. */
  List<String> errLines() {
    return err.lines().toList();
  }

  @Override
  public String toString() {
    return "exit " + status + "\n--- out\n" + out + "--- err\n" + err;
  }

  /** Every JSON line of the output files {@code <prefix>-<what>-*.jsonl}. */
  static List<JsonNode> outputs(Path prefix, String what) {
    return read(prefix.getParent(), prefix.getFileName() + "-" + what + "-*.jsonl");
  }

  /** Every JSON line of the output files {@code <dir>/<what>-*.jsonl} (for {@code --output=DIR/}). */
  static List<JsonNode> outputsIn(Path dir, String what) {
    return read(dir, what + "-*.jsonl");
  }

  private static List<JsonNode> read(Path dir, String glob) {
    List<JsonNode> nodes = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
      for (Path f : files) {
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
          nodes.add(JSON.readTree(line));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return nodes;
  }
}
