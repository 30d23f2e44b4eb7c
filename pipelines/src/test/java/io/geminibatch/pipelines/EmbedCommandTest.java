package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.geminibatch.testing.EmulatorResponder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code embed} end to end on the example texts, on the built-in emulator. */
class EmbedCommandTest {
  @TempDir Path tmp;

  @Test
  void exampleTextsGetTheEmulatorsVectorsUnderTheirLineKeys() throws IOException {
    Path input = Cli.EXAMPLES.resolve("texts.txt");
    Path dir = tmp.resolve("vectors");
    Cli run = Cli.run(Cli.NO_KEY, "embed", "--input=" + input, "--output=" + dir + "/", "--outputDimensionality=16",
        "--taskType=RETRIEVAL_DOCUMENT");

    assertEquals(0, run.status, run.toString());
    Map<String, String> texts = new HashMap<>();
    List<String> lines = Files.readAllLines(input, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      texts.put(InputLines.lineKey("texts.txt", i + 1, lines.get(i)), lines.get(i));
    }
    List<JsonNode> embeddings = Cli.outputsIn(dir, "responses");
    assertEquals(List.of(), Cli.outputsIn(dir, "failures"));
    assertEquals(texts.size(), embeddings.size());
    for (JsonNode e : embeddings) {
      String text = texts.remove(e.get("key").asText());
      JsonNode values = e.at("/embedding/values");
      float[] got = new float[values.size()];
      for (int i = 0; i < got.length; i++) {
        got[i] = values.get(i).floatValue();
      }
      assertArrayEquals(EmulatorResponder.embedding(text, 16), got, 1e-6f, text);
    }
    assertEquals(Map.of(), texts, "every text once");
    assertTrue(run.err.contains("8 responses, 0 failures"), run.err);
    assertTrue(run.err.contains("tokens: none reported"), run.err);
    assertTrue(run.err.contains("wrote " + dir + "/responses-*.jsonl and " + dir + "/failures-*.jsonl"), run.err);
  }
}
