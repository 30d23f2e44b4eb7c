package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.geminibatch.connector.client.ApiKeyProvider;
import io.geminibatch.connector.client.SecretManagerApiKeyProvider;
import io.geminibatch.testing.GeminiEmulator;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.util.SerializableUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API key read where it is used, from Secret Manager or a file ({@code gs://} included), on
 * an emulator that accepts only that key: never serialized with the pipeline, never shown.
 */
class ApiKeySourcesTest {
  private static final String KEY = "AIzaSy-secret-from-the-vault-42";
  private static GeminiEmulator emulator;

  @TempDir Path tmp;

  @BeforeAll
  static void start() throws Exception {
    emulator = GeminiEmulator.builder().apiKey(KEY).jobLatency(java.time.Duration.ofMillis(100)).start();
    emulator.secrets().addVersion("proj", "gemini-key", "an-old-key");
    emulator.secrets().addVersion("proj", "gemini-key", KEY + "\n");
    emulator.storage().createBucket("keys");
    emulator.storage().putObject("keys", "gemini.txt", new ByteArrayInputStream((KEY + "\n").getBytes(StandardCharsets.UTF_8)));
  }

  @AfterAll
  static void stop() {
    emulator.close();
  }

  private static SecretManagerApiKeyProvider secret(String version) {
    return ApiKeyProvider.fromSecretManager("projects/proj/secrets/gemini-key/versions/" + version)
        .withEndpoint(emulator.baseUrl());
  }

  @Test
  void secretManagerGivesTheVersionAsked() {
    assertEquals(KEY, secret("latest").get());
    assertEquals(KEY, secret("2").get());
    assertEquals("an-old-key", secret("1").get());
  }

  @Test
  void secretManagerErrorsNameTheSecretAndWhatToDo() {
    IllegalStateException missing =
        assertThrows(
            IllegalStateException.class,
            () -> ApiKeyProvider.fromSecretManager("projects/proj/secrets/nope/versions/latest").withEndpoint(emulator.baseUrl()).get());
    assertTrue(missing.getMessage().contains("projects/proj/secrets/nope/versions/latest"), missing.getMessage());
    assertTrue(missing.getMessage().contains("gcloud secrets create"), missing.getMessage());
    emulator.secrets().addVersion("proj", "locked", "x");
    emulator.secrets().denyAccess("proj", "locked");
    IllegalStateException denied =
        assertThrows(
            IllegalStateException.class,
            () -> ApiKeyProvider.fromSecretManager("projects/proj/secrets/locked/versions/1").withEndpoint(emulator.baseUrl()).get());
    assertTrue(denied.getMessage().contains("roles/secretmanager.secretAccessor"), denied.getMessage());
    IllegalArgumentException bad =
        assertThrows(IllegalArgumentException.class, () -> ApiKeyProvider.fromSecretManager("gemini-key"));
    assertTrue(bad.getMessage().contains("projects/PROJECT/secrets/SECRET/versions/VERSION"), bad.getMessage());
  }

  @Test
  void aFileKeyIsReadFromLocalAndGsPaths() throws Exception {
    Path local = tmp.resolve("key.txt");
    Files.writeString(local, "  " + KEY + "\n");
    assertEquals(KEY, ApiKeyProvider.fromFile(local.toString()).get());
    CloudStorageStagingTest.direct(emulator); // Beam's GCS file system on the emulator
    assertEquals(KEY, ApiKeyProvider.fromFile("gs://keys/gemini.txt").get());
    IllegalStateException missing =
        assertThrows(IllegalStateException.class, () -> ApiKeyProvider.fromFile("gs://keys/missing.txt").get());
    assertTrue(missing.getMessage().contains("gs://keys/missing.txt does not exist"), missing.getMessage());
    Files.writeString(tmp.resolve("empty.txt"), "\n");
    IllegalStateException empty =
        assertThrows(IllegalStateException.class, () -> ApiKeyProvider.fromFile(tmp.resolve("empty.txt").toString()).get());
    assertTrue(empty.getMessage().contains("is empty"), empty.getMessage());
  }

  @Test
  void theKeyIsNeverSerializedNorShown() {
    for (ApiKeyProvider p : new ApiKeyProvider[] {secret("latest"), ApiKeyProvider.fromFile("gs://keys/gemini.txt")}) {
      CloudStorageStagingTest.direct(emulator);
      assertEquals(KEY, p.get()); // read once: the cache must stay out of the serialized form too
      String serialized = new String(SerializableUtils.serializeToByteArray(p), StandardCharsets.ISO_8859_1);
      assertFalse(serialized.contains(KEY), p + " serialized its key");
      assertFalse(p.toString().contains(KEY));
      ApiKeyProvider copy = SerializableUtils.clone(p);
      assertEquals(p, copy);
    }
  }

  @Test
  void workersReadTheKeyFromSecretManagerAndFromGs() {
    HashMap<String, String> prompts = GenerateTest.prompts(50);
    Pipeline p = CloudStorageStagingTest.direct(emulator);
    GeminiBatchIO.Generate fromSecret =
        TestPipelines.generate(emulator, tmp.resolve("a")).withApiKeyProvider(secret("latest"));
    GeminiBatchIO.Generate fromFile =
        TestPipelines.generate(emulator, tmp.resolve("b")).withApiKeyProvider(ApiKeyProvider.fromFile("gs://keys/gemini.txt"));
    GeminiBatchIO.GenerateResult a = GenerateTest.requests(p, prompts).apply("Secret", fromSecret);
    GeminiBatchIO.GenerateResult b = GenerateTest.requests(p, prompts).apply("File", fromFile);
    PAssert.that(a.getResponses()).satisfies(Expect.echoes(prompts, 50));
    PAssert.that(b.getResponses()).satisfies(Expect.echoes(prompts, 50));
    PAssert.that(a.getFailures()).empty();
    PAssert.that(b.getFailures()).empty();
    TestPipelines.run(p);
    assertFalse(DisplayData.from(fromSecret).toString().contains(KEY));
    assertTrue(DisplayData.from(fromSecret).toString().contains("Secret Manager projects/proj/secrets/gemini-key/versions/latest"));
  }
}
