package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.EmulatorResponder;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompts and texts of every size from one byte up to the request limit, through the command
 * line, the connector and the built-in emulator, as file jobs and as inline jobs: sizes on both
 * sides of every buffer and block boundary on the way (the emulator's 4 KB and 64 KB line
 * buffers, the 1 MB inline threshold and pack size, the 2 MB response batches, the 8 MiB upload
 * chunks, the 10 MB request limit). Each answer must be its own prompt's echo, whole.
 */
class AnySizeCommandTest {
  /** The connector's default largest request (BatchConfig: half the API's 20 MB inline limit). */
  static final int REQUEST_LIMIT = 10_000_000;

  @TempDir Path tmp;

  /** Every boundary on the way below {@code upTo}, one and two bytes on either side of it, and {@code upTo}. */
  static List<Integer> sizes(int from, int upTo) {
    TreeSet<Integer> sizes = new TreeSet<>();
    for (int s : new int[] {1, 2, 3, 100}) {
      if (s >= from) {
        sizes.add(s);
      }
    }
    for (int b : new int[] {256, 4096, 1 << 16, 1_000_000, 1 << 20, 2 << 20, 8 << 20}) {
      for (int d = -2; d <= 2; d++) {
        if (b + d >= from && b + d <= upTo) {
          sizes.add(b + d);
        }
      }
    }
    sizes.add(upTo);
    return new ArrayList<>(sizes);
  }

  /** A prompt of exactly {@code bytes} UTF-8 bytes: ASCII with two-byte characters and escapes sprinkled. */
  static String prompt(int bytes, int seed) {
    StringBuilder sb = new StringBuilder(bytes);
    int n = 0;
    while (n < bytes) {
      int i = n + seed;
      if (bytes - n >= 2 && i % 997 == 0) {
        sb.append('é');
        n += 2;
      } else {
        sb.append(i % 501 == 0 ? '"' : i % 503 == 0 ? '\\' : (char) ('a' + i % 26));
        n++;
      }
    }
    return sb.toString();
  }

  /** Writes one prompt a line; returns key -> prompt. */
  private Map<String, String> write(Path file, List<Integer> sizes) throws IOException {
    Map<String, String> prompts = new HashMap<>();
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (int i = 0; i < sizes.size(); i++) {
        String p = prompt(sizes.get(i), i);
        assertEquals(sizes.get(i), p.getBytes(StandardCharsets.UTF_8).length);
        w.write(p);
        w.write('\n');
        prompts.put(InputLines.lineKey(file.getFileName().toString(), i + 1, p), p);
      }
    }
    return prompts;
  }

  private static void assertEchoed(Map<String, String> prompts, Path prefix) {
    List<JsonNode> responses = Cli.outputs(prefix, "responses");
    assertEquals(List.of(), Cli.outputs(prefix, "failures").stream().map(f -> f.get("message").asText()).toList());
    assertEquals(prompts.size(), responses.size());
    for (JsonNode r : responses) {
      String key = r.get("key").asText();
      String expected = EmulatorResponder.ANSWER_PREFIX + prompts.get(key);
      String got = GenerateCommandTest.answerText(r);
      assertEquals(expected.length(), got.length(), key);
      assertTrue(expected.equals(got), () -> key + ": the answer differs from its prompt's echo");
    }
  }

  @Test
  void promptsOfEverySizeBelowTheUploadChunkInOneFileJob() throws IOException {
    List<Integer> sizes = sizes(1, (8 << 20) - 3);
    Path input = tmp.resolve("sizes.txt");
    Map<String, String> prompts = write(input, sizes);
    Path prefix = tmp.resolve("file");
    Cli run = GenerateCommandTest.generate(input, prefix);
    assertEchoed(prompts, prefix);
    assertTrue(run.err.contains("batch jobs submitted: 1"), run.err);
  }

  @Test
  void promptsAcrossTheUploadChunkUpToTheRequestLimit() throws IOException {
    // The largest prompt leaves room for the request around it. The input is over the size from
    // which the command runs on Flink embedded in the JVM, whose sorters must take records of
    // that size (Args.LOCAL_FLINK_CONF).
    // A prompt's request is its JSON: quotes and backslashes take two bytes there.
    int largest = REQUEST_LIMIT - 200;
    String p = prompt(largest, 0);
    largest -= p.length() - p.replace("\"", "").replace("\\", "").length() + 16;
    List<Integer> sizes = sizes((8 << 20) - 2, largest);
    Path input = tmp.resolve("large.txt");
    Map<String, String> prompts = write(input, sizes);
    Path prefix = tmp.resolve("large");
    Cli run = GenerateCommandTest.generate(input, prefix);
    assertEchoed(prompts, prefix);
    assertTrue(run.err.contains("batch jobs submitted: "), run.err);
  }

  @Test
  void promptsAroundTheInlineThresholdEachInAJobOfItsOwn() throws IOException {
    // One request a job: those up to 1 MB go inline, larger ones as files.
    List<Integer> sizes = sizes(1, 2 << 20);
    Path input = tmp.resolve("each.txt");
    Map<String, String> prompts = write(input, sizes);
    Path prefix = tmp.resolve("each");
    Cli run = GenerateCommandTest.generate(input, prefix, "--maxRequestsPerJob=1");
    assertEchoed(prompts, prefix);
    assertTrue(run.err.contains("batch jobs submitted: " + sizes.size()), run.err);
  }

  @Test
  void aPromptOverTheRequestLimitIsAFailureNamingItsSize() throws IOException {
    Path input = tmp.resolve("over.txt");
    String over = prompt(REQUEST_LIMIT + 1, 0);
    Files.writeString(input, "short\n" + over + "\n");
    Path prefix = tmp.resolve("over");
    GenerateCommandTest.generate(input, prefix);
    assertEquals(1, Cli.outputs(prefix, "responses").size());
    List<JsonNode> failures = Cli.outputs(prefix, "failures");
    assertEquals(1, failures.size());
    assertEquals(InputLines.lineKey("over.txt", 2, over), failures.get(0).get("key").asText());
    assertEquals("VALIDATE", failures.get(0).get("stage").asText());
  }

  @Test
  void textsOfEverySizeAreEmbeddedInlineAndAsFiles() throws IOException {
    List<Integer> sizes = sizes(1, 2 << 20);
    Path input = tmp.resolve("texts.txt");
    Map<String, String> texts = write(input, sizes);
    for (String mode : List.of("1", "10000")) {
      Path dir = tmp.resolve("vectors-" + mode);
      Cli run = Cli.run(Cli.NO_KEY, "embed", "--input=" + input, "--output=" + dir + "/", "--outputDimensionality=8",
          "--maxRequestsPerJob=" + mode);
      assertEquals(0, run.status, run.toString());
      assertEquals(List.of(), Cli.outputsIn(dir, "failures"));
      List<JsonNode> vectors = Cli.outputsIn(dir, "responses");
      assertEquals(texts.size(), vectors.size());
      for (JsonNode v : vectors) {
        JsonNode values = v.at("/embedding/values");
        float[] got = new float[values.size()];
        for (int i = 0; i < got.length; i++) {
          got[i] = values.get(i).floatValue();
        }
        assertArrayEquals(EmulatorResponder.embedding(texts.get(v.get("key").asText()), 8), got, 1e-6f);
      }
    }
  }
}
