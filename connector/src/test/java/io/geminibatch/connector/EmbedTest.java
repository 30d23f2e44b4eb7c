package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.geminibatch.testing.EmulatorResponder;
import io.geminibatch.testing.GeminiEmulator;
import io.geminibatch.testing.GeminiEmulatorExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** embed() end to end over HTTP against the emulator, on the Direct and Flink runners. */
class EmbedTest {
  @RegisterExtension
  static final GeminiEmulatorExtension EMULATOR =
      GeminiEmulatorExtension.builder().jobLatency(java.time.Duration.ofMillis(100)).seed(3).build();

  @TempDir Path staging;

  static HashMap<String, String> texts(int n) {
    HashMap<String, String> texts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      // Every tenth text repeats an earlier one: same text, same vector.
      texts.put("doc-" + i, "Document " + (i % 10 == 9 ? i - 1 : i) + " about the colour of the sky");
    }
    return texts;
  }

  /** Each vector is the emulator's vector of its own text, at the asked dimensionality. */
  static SerializableFunction<Iterable<EmbedResponse>, Void> vectorsOf(HashMap<String, String> texts, int dims) {
    return embeddings -> {
      Set<String> seen = new HashSet<>();
      for (EmbedResponse e : embeddings) {
        if (!seen.add(e.getKey())) {
          throw new AssertionError("key embedded twice: " + e.getKey());
        }
        float[] expected = EmulatorResponder.embedding(texts.get(e.getKey()), dims);
        if (!Arrays.equals(expected, e.getValues())) {
          throw new AssertionError(e.getKey() + ": vector differs from the emulator's for its text ("
              + e.getValues().length + " values, expected " + expected.length + ")");
        }
      }
      if (seen.size() != texts.size()) {
        throw new AssertionError("expected " + texts.size() + " embeddings, got " + seen.size());
      }
      return null;
    };
  }

  private static List<EmbedRequest> requests(HashMap<String, String> texts) {
    List<EmbedRequest> list = new ArrayList<>();
    texts.forEach((k, v) -> list.add(EmbedRequest.ofText(k, v)));
    return list;
  }

  private void embedsEveryTextAsItsOwnVector(Pipeline p) {
    GeminiEmulator emulator = EMULATOR.emulator();
    HashMap<String, String> texts = texts(2000);
    GeminiBatchIO.EmbedResult files =
        p.apply("Texts", Create.of(requests(texts)))
            .apply("ViaFiles", TestPipelines.embed(emulator, staging.resolve("files"))
                .withMaxRequestsPerJob(300).withInlineThresholdBytes(0).withOutputDimensionality(256));
    GeminiBatchIO.EmbedResult inline =
        p.apply("SameTexts", Create.of(requests(texts)))
            .apply("Inline", TestPipelines.embed(emulator, staging.resolve("inline")).withMaxRequestsPerJob(300));
    PAssert.that(files.getEmbeddings()).satisfies(vectorsOf(texts, 256));
    PAssert.that(inline.getEmbeddings())
        .satisfies(vectorsOf(texts, EmulatorResponder.DEFAULT_EMBEDDING_DIMENSIONS));
    PAssert.that(files.getFailures()).empty();
    PAssert.that(inline.getFailures()).empty();
    TestPipelines.run(p);
    GenerateTest.assertOneCreatePerDisplayName(emulator.stats());
  }

  @Test
  void embedsEveryTextAsItsOwnVectorOnTheDirectRunner() {
    embedsEveryTextAsItsOwnVector(TestPipelines.direct());
  }

  @Test
  void embedsEveryTextAsItsOwnVectorOnFlink() {
    embedsEveryTextAsItsOwnVector(TestPipelines.flink());
  }

  @Test
  void badEmbedInputGoesToTheFailuresAndThePipelineGoesOn() {
    GeminiEmulator emulator = EMULATOR.emulator();
    Pipeline p = TestPipelines.direct();
    List<EmbedRequest> input =
        List.of(
            EmbedRequest.ofText("ok", "a fine text"),
            EmbedRequest.of("whole", "{\"content\":{\"parts\":[{\"text\":\"given whole\"}]},\"taskType\":\"RETRIEVAL_DOCUMENT\"}"),
            EmbedRequest.ofText("empty", ""),
            EmbedRequest.of("emptyparts", "{\"content\":{\"parts\":[{\"text\":\"  \"}]}}"),
            EmbedRequest.of("nocontent", "{\"taskType\":\"RETRIEVAL_DOCUMENT\"}"),
            EmbedRequest.of("dims", "{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"outputDimensionality\":99999}"),
            EmbedRequest.ofText("huge", "z".repeat(4000)));
    GeminiBatchIO.EmbedResult result =
        p.apply(Create.of(input))
            .apply(TestPipelines.embed(emulator, staging).withMaxRequestBytes(1000).withOutputDimensionality(64));
    PAssert.that(result.getEmbeddings().apply(MapElements.into(TypeDescriptors.strings()).via(e -> e.getKey() + ":" + e.getValues().length)))
        .containsInAnyOrder("ok:64", "whole:64");
    PAssert.that(result.getFailures().apply(MapElements.into(TypeDescriptors.strings()).via(f -> f.getKey() + " | " + f.getMessage())))
        .satisfies(lines -> {
          String all = String.join("\n", lines);
          for (String expected : new String[] {
              "empty | text is empty",
              "emptyparts | request text is empty",
              "nocontent | request has no field 'content'",
              "dims | request field 'outputDimensionality' must be an integer in [1, 3072], got 99999",
              "huge | request is 40"}) {
            if (!all.contains(expected)) {
              throw new AssertionError("no failure like '" + expected + "' in:\n" + all);
            }
          }
          int count = all.split("\n").length;
          if (count != 5) {
            throw new AssertionError("expected 5 failures, got " + count + ":\n" + all);
          }
          return null;
        });
    TestPipelines.run(p);
    assertEquals(1, emulator.stats().batchesCreated());
  }
}
