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
  private static final String KEY = "AIzaSy-cloud-storage-test-key-7";
  private static GeminiEmulator emulator;
  private static GcsStore gcs;

  @BeforeAll
  static void start() throws IOException {
    // Only the right key is accepted: a run that got its key from elsewhere proves it read it.
    emulator = GeminiEmulator.builder().apiKey(KEY).jobLatency(Duration.ofMillis(200)).start();
    gcs = emulator.storage();
    gcs.createBucket("bkt");
    emulator.secrets().addVersion("test-project", "gemini-key", KEY + "\n");
    put("keys/gemini.txt", KEY + "\n");
  }

  @AfterAll
  static void stop() {
    emulator.close();
  }

  /** The flags that point Beam's GCS file system and the job at the emulator. */
  static List<String> emulatorFlags() {
    return List.of(
        "--baseUrl=" + emulator.baseUrl(),
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
    if (all.stream().noneMatch(a -> a.startsWith("--apiKey"))) {
      all.add("--apiKey=" + KEY);
    }
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

  @Test
  void theWorkersReadTheKeyFromSecretManagerOrFromGs() throws Exception {
    put("key/p.txt", "one prompt\n");
    Cli secret =
        run(
            "generate", "--input=gs://bkt/key/p.txt", "--output=gs://bkt/key-out-secret/", "--runner=DirectRunner",
            "--apiKeySecret=projects/test-project/secrets/gemini-key/versions/latest",
            "--secretManagerEndpoint=" + emulator.baseUrl());
    assertEquals(0, secret.status, secret.toString());
    assertEquals(1, lines("key-out-secret/responses-").size());
    Cli file =
        run(
            "generate", "--input=gs://bkt/key/p.txt", "--output=gs://bkt/key-out-file/", "--runner=DirectRunner",
            "--apiKeyFile=gs://bkt/keys/gemini.txt");
    assertEquals(0, file.status, file.toString());
    assertEquals(1, lines("key-out-file/responses-").size());
    for (Cli run : List.of(secret, file)) {
      assertTrue(!run.toString().contains(KEY), "the key is shown: " + run);
    }
    for (GcsObject o : gcs.listObjects("bkt", "")) {
      if (!o.name().equals("keys/gemini.txt")) {
        try (InputStream in = gcs.openObject("bkt", o.name())) {
          assertTrue(!new String(in.readAllBytes(), StandardCharsets.UTF_8).contains(KEY), o.gsPath() + " holds the key");
        }
      }
    }
  }

  /** Each error names the path and what to do; the output and staging are checked before any job. */
  @Test
  void cloudStorageErrorsNameThePathAndWhatToDoBeforeAnyJobIsPaidFor() throws Exception {
    put("err/p.txt", "a prompt\n");
    gcs.ensureBucket("locked-bkt");
    gcs.denyAccess("locked-bkt");
    long before = emulator.stats().batchesCreated();
    assertFails(
        2, "--input: bucket gs://no-such-bucket does not exist or this account may not read it",
        "--input=gs://no-such-bucket/p.txt", "--output=gs://bkt/err-out/");
    assertFails(
        2, "--input: no object in gs://bkt matches gs://bkt/err/missing*.txt",
        "--input=gs://bkt/err/missing*.txt", "--output=gs://bkt/err-out/");
    assertFails(
        2, "--output: cannot write to gs://locked-bkt/out/: gs://locked-bkt/out/.gemini-batch-write-check-",
        "--input=gs://bkt/err/p.txt", "--output=gs://locked-bkt/out/");
    assertFails(
        2, "--stagingLocation: cannot write to gs://missing-bkt/staging/: gs://missing-bkt",
        "--input=gs://bkt/err/p.txt", "--output=gs://bkt/err-out/", "--stagingLocation=gs://missing-bkt/staging/");
    assertFails(
        1, "API key file gs://bkt/keys/none.txt does not exist",
        "--input=gs://bkt/err/p.txt", "--output=gs://bkt/err-out/", "--apiKeyFile=gs://bkt/keys/none.txt");
    assertEquals(before, emulator.stats().batchesCreated(), "no job was submitted");
  }

  private static void assertFails(int status, String message, String... args) {
    List<String> all = new ArrayList<>(List.of("generate", "--runner=DirectRunner"));
    all.addAll(List.of(args));
    Cli run = run(all.toArray(String[]::new));
    assertEquals(status, run.status, run.toString());
    assertTrue(run.err.contains(message), "expected '" + message + "' in\n" + run);
  }
}
