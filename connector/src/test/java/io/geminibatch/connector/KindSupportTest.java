package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What generate and embed build from plain text, what they accept, and how they read answers. */
class KindSupportTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void aPromptBecomesARequestWithTheTransformsDefaults() throws Exception {
    GenerateKind kind = new GenerateKind("Answer in \"one\" line.", "{\"temperature\":0.2}");
    JsonNode request = MAPPER.readTree(kind.requestFromText("Why is the sky blue?\n"));
    assertEquals("Why is the sky blue?\n", request.at("/contents/0/parts/0/text").asText());
    assertEquals("user", request.at("/contents/0/role").asText());
    assertEquals("Answer in \"one\" line.", request.at("/systemInstruction/parts/0/text").asText());
    assertEquals(0.2, request.at("/generationConfig/temperature").asDouble());
    assertEquals(request.toString().length(), kind.validateAndComplete(request.toString()).length());
  }

  @Test
  void aWholeRequestIsSentExactlyAsGiven() throws Exception {
    String given = "{ \"contents\": [{\"parts\":[{\"text\":\"x\"}]}], \"generation_config\": {\"top_k\": 3} }";
    assertEquals(given, new GenerateKind("ignored", null).validateAndComplete(given));
  }

  @Test
  void embedAddsItsDimensionalityOnlyWhereTheRequestHasNone() throws Exception {
    EmbedKind kind = new EmbedKind("RETRIEVAL_DOCUMENT", 256);
    JsonNode built = MAPPER.readTree(kind.requestFromText("doc"));
    assertEquals(256, built.get("outputDimensionality").asInt());
    assertEquals("RETRIEVAL_DOCUMENT", built.get("taskType").asText());
    JsonNode spliced =
        MAPPER.readTree(kind.validateAndComplete(" {\"content\":{\"parts\":[{\"text\":\"a\"}]}}"));
    assertEquals(256, spliced.get("outputDimensionality").asInt());
    assertEquals("a", spliced.at("/content/parts/0/text").asText());
    String own = "{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"output_dimensionality\":8}";
    assertEquals(own, kind.validateAndComplete(own));
    assertThrows(InvalidRequestException.class, () -> kind.validateAndComplete("{\"content\":{\"parts\":[]}}"));
  }

  @Test
  void aGenerateResponseIsReadInOnePassWithThoughtsLeftOut() throws Exception {
    String response =
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"thinking...\",\"thought\":true},"
            + "{\"text\":\"Rayleigh \"},{\"text\":\"scattering.\"},{\"thoughtSignature\":\"El4K\"}],\"role\":\"model\"},"
            + "\"finishReason\":\"STOP\",\"index\":0},{\"content\":{\"parts\":[{\"text\":\"second\"}]}}],"
            + "\"usageMetadata\":{\"promptTokenCount\":1427,\"candidatesTokenCount\":\"144\",\"totalTokenCount\":1571},"
            + "\"modelVersion\":\"gemini-2.5-flash\"}";
    byte[] bytes = response.getBytes(StandardCharsets.UTF_8);
    GenerateKind kind = new GenerateKind(null, null);
    try (JsonParser p = Json.FACTORY.createParser(bytes)) {
      p.nextToken();
      Object partial = kind.readResponse(p);
      GenerateResponse r = kind.toOutput("k", partial, bytes, 0, bytes.length, "batches/x");
      assertEquals("Rayleigh scattering.", r.getText());
      assertEquals("STOP", r.getFinishReason());
      assertEquals(1427, r.getPromptTokenCount());
      assertEquals(144, r.getCandidatesTokenCount());
      assertEquals(1571, r.getTotalTokenCount());
      assertEquals(response, r.getResponseJson());
      assertTrue(p.nextToken() == null, "the reader stops at the response's end");
    }
  }

  @Test
  void anEmbeddingIsReadStraightIntoFloats() throws Exception {
    byte[] bytes = "{\"embedding\":{\"values\":[0.5,-1,3.25e-2]}}".getBytes(StandardCharsets.UTF_8);
    try (JsonParser p = Json.FACTORY.createParser(bytes)) {
      p.nextToken();
      EmbedResponse r = new EmbedKind(null, null).toOutput("k", new EmbedKind(null, null).readResponse(p), bytes, 0, bytes.length, "j");
      assertArrayEquals(new float[] {0.5f, -1f, 0.0325f}, r.getValues());
    }
  }

  @Test
  void aResultLineWrittenInPartsIsTheLineOfItsOutputAndCountsTheSameTokens() throws Exception {
    // The read step writes result files from the response's bytes where they stand
    // (writeResultLine); the output element's own line (resultLine) is its oracle. Keys that need
    // escaping, responses inside a larger buffer, an embedding without values.
    String[] keys = {"k", "a \"quoted\" key", "tab\tand\\slash", "é-ü-€", "p.txt:line-7-0a1b2c3d"};
    String[] generate = {
      "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":5}}",
      "{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":\"12\",\"totalTokenCount\":12}}",
      "{}",
    };
    String[] embed = {"{\"embedding\":{\"values\":[0.5,-1]}}", "{\"other\":1}", "{\"embedding\":{\"values\":[]},\"x\":[1,2]}"};
    for (String key : keys) {
      for (String response : generate) {
        assertPartsMatchTheOutputsLine(new GenerateKind(null, null), key, response);
      }
      for (String response : embed) {
        assertPartsMatchTheOutputsLine(new EmbedKind(null, null), key, response);
      }
    }
  }

  private static <OutT> void assertPartsMatchTheOutputsLine(KindSupport<OutT> kind, String key, String response) throws Exception {
    byte[] buffer = ("xx" + response + "yyy").getBytes(StandardCharsets.UTF_8);
    int start = 2;
    int end = start + response.getBytes(StandardCharsets.UTF_8).length;
    Object partial;
    try (JsonParser p = Json.FACTORY.createParser(buffer, start, end - start)) {
      p.nextToken();
      partial = kind.readResponse(p);
    }
    OutT output = kind.toOutput(key, partial, buffer, start, end, "batches/j");
    long[] expectedTokens = new long[2];
    kind.count(output, expectedTokens);
    java.io.ByteArrayOutputStream written = new java.io.ByteArrayOutputStream();
    long[] tokens = new long[2];
    kind.writeResultLine(key, partial, buffer, start, end, written, tokens);
    assertEquals(new String(kind.resultLine(output), StandardCharsets.UTF_8), written.toString(StandardCharsets.UTF_8), key + " " + response);
    assertArrayEquals(expectedTokens, tokens, key + " " + response);
  }
}
