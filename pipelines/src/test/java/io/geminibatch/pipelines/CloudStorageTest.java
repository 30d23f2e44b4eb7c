package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.gcs.GcsObject;
import io.geminibatch.testing.gcs.GcsStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The main job with its input, staging location and output on {@code gs://}, on the emulator's
 * Cloud Storage (Beam's GCS file system pointed at it with {@code --gcsEndpoint}).
 */
class CloudStorageTest {
  private static GeminiEmulator emulator;
  private static GcsStore gcs;

  @BeforeAll
  static void start() throws IOException {
    emulator = GeminiEmulator.builder().jobLatency(Duration.ofMillis(200)).start();
    gcs = emulator.storage();
    gcs.createBucket("bkt");
  }

  @AfterAll
  static void stop() {
    emulator.close();
  }

  /** The flags that point Beam's GCS file system and the job at the emulator. */
  static List<String> emulatorFlags() {
    return List.of(
        "--baseUrl=" + emulator.baseUrl(),
        "--apiKey=test-key",
        "--gcsEndpoint=" + emulator.baseUrl() + "/storage/v1/",
        "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory",
        "--project=test-project",
        "--pollInterval=1");
  }

  static void put(String name, String text) throws IOException {
    gcs.putObject("bkt", name, "text/plain", new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)),
        io.geminibatch.testing.gcs.GcsPreconditions.none());
  }

  static List<String> lines(String prefix) {
    List<String> out = new ArrayList<>();
    for (GcsObject o : gcs.listObjects("bkt", prefix)) {
      try (InputStream in = gcs.openObject("bkt", o.name())) {
        new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().forEach(out::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  static Cli run(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(emulatorFlags());
    return Cli.run(Map.of(), all.toArray(String[]::new));
  }

  @Test
  void generateFromGsGlobToGsOutputWithGsStagingOnTheDirectRunner() throws Exception {
    long before = emulator.stats().batchesCreated();
    put("in/a-1.txt", "alpha\nbeta\n");
    put("in/a-2.txt", "gamma\n");
    put("in/other.csv", "not,an,input\n");
    Cli run =
        run(
            "generate", "--input=gs://bkt/in/a-*.txt", "--output=gs://bkt/out/answers",
            "--stagingLocation=gs://bkt/staging/", "--runner=DirectRunner", "--keepArtifacts=true");
    assertEquals(0, run.status, run.toString());
    List<String> responses = lines("out/answers-responses-");
    assertEquals(3, responses.size(), run.toString());
    Set<String> answers = new HashSet<>();
    for (String line : responses) {
      JsonNode r = Cli.JSON.readTree(line);
      answers.add(GenerateCommandTest.answerText(r));
    }
    assertEquals(3, answers.size());
    assertTrue(!gcs.listObjects("bkt", "staging/").isEmpty(), "the staged shards and the ledger are on gs://");
    assertEquals(before + 1, emulator.stats().batchesCreated());
  }

  @Test
  void generateOnGsOnEmbeddedFlink() throws Exception {
    put("fl/p-1.txt", "one\ntwo\nthree\n");
    long before = emulator.stats().batchesCreated();
    Cli run =
        run(
            "generate", "--input=gs://bkt/fl/p-*.txt", "--output=gs://bkt/flout/",
            "--stagingLocation=gs://bkt/flstaging/", "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2");
    assertEquals(0, run.status, run.toString());
    assertEquals(3, lines("flout/responses-").size(), run.toString());
    assertEquals(before + 1, emulator.stats().batchesCreated());
  }
}
