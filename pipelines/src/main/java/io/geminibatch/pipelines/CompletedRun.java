package io.geminibatch.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * {@code PREFIX-run.json}: written beside the outputs once a run has written all of them, so that
 * the same command run again (the same arguments, the same service, the same input files by
 * name, size and modification time) says where the results are instead of paying for every
 * request a second time. {@code --runAgain} runs it anyway. A run that starts deletes the marker
 * first: a run stopped midway never leaves a marker over outputs it did not finish.
 */
final class CompletedRun {
  private static final ObjectMapper JSON = new ObjectMapper();

  final String finished;
  final long responses;
  final long failures;

  private CompletedRun(String finished, long responses, long failures) {
    this.finished = finished;
    this.responses = responses;
    this.failures = failures;
  }

  static String markerPath(String output) {
    return BatchCommand.outputName(output, "run") + ".json";
  }

  /**
   * What makes two runs the same: the command and its arguments (the API key left out: it is
   * never written anywhere), the service's URL and the input files as they are now.
   */
  static String fingerprint(List<String> commandAndArgs, String baseUrl, String input) throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (String a : commandAndArgs) {
      if (a.startsWith("--apiKey=") || a.equals("--runAgain") || a.startsWith("--runAgain=")) {
        continue;
      }
      sha.update(a.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
    }
    sha.update(baseUrl.getBytes(StandardCharsets.UTF_8));
    sha.update((byte) 0);
    MatchResult match = FileSystems.match(input, EmptyMatchTreatment.ALLOW);
    List<String> files = new ArrayList<>();
    if (match.status() == MatchResult.Status.OK) {
      for (MatchResult.Metadata m : match.metadata()) {
        files.add(m.resourceId() + "\u0000" + m.sizeBytes() + "\u0000" + m.lastModifiedMillis());
      }
    }
    files.sort(null);
    for (String f : files) {
      sha.update(f.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** The earlier run with this fingerprint whose outputs are still there, if any. */
  static Optional<CompletedRun> find(String output, String fingerprint) throws IOException {
    String marker = markerPath(output);
    MatchResult match = FileSystems.match(marker, EmptyMatchTreatment.ALLOW);
    if (match.status() != MatchResult.Status.OK || match.metadata().isEmpty()) {
      return Optional.empty();
    }
    JsonNode node;
    try (InputStream in = Channels.newInputStream(FileSystems.open(match.metadata().get(0).resourceId()))) {
      node = JSON.readTree(in);
    } catch (IOException e) {
      return Optional.empty(); // unreadable: run
    }
    if (node == null || !fingerprint.equals(node.path("fingerprint").asText())) {
      return Optional.empty();
    }
    CompletedRun run = new CompletedRun(node.path("finished").asText(), node.path("responses").asLong(), node.path("failures").asLong());
    // Outputs deleted since: the user wants them again.
    if (run.responses + run.failures > 0 && !anyOutput(output)) {
      return Optional.empty();
    }
    return Optional.of(run);
  }

  private static boolean anyOutput(String output) throws IOException {
    for (String what : List.of("responses", "failures")) {
      MatchResult m = FileSystems.match(BatchCommand.outputName(output, what) + "-*.jsonl", EmptyMatchTreatment.ALLOW);
      if (m.status() == MatchResult.Status.OK && !m.metadata().isEmpty()) {
        return true;
      }
    }
    return false;
  }

  static void record(String output, String fingerprint, long responses, long failures) throws IOException {
    ObjectNode node = JSON.createObjectNode();
    node.put("fingerprint", fingerprint);
    node.put("finished", Instant.now().toString());
    node.put("responses", responses);
    node.put("failures", failures);
    ResourceId id = FileSystems.matchNewResource(markerPath(output), false);
    try (OutputStream out = Channels.newOutputStream(FileSystems.create(id, "application/json"))) {
      out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node));
      out.write('\n');
    }
  }

  static void delete(String output) throws IOException {
    FileSystems.delete(
        List.of(FileSystems.matchNewResource(markerPath(output), false)), MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
  }
}
