package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.geminibatch.connector.client.BatchKind;
import java.io.IOException;
import java.util.Arrays;

/** {@code generate()}: GenerateContentRequests in, GenerateContentResponses out. */
final class GenerateKind extends KindSupport<GenerateResponse> {
  private static final long serialVersionUID = 1L;

  private static final byte[] PROMPT_HEAD = Json.utf8("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":");

  private final String systemInstruction;
  private final String generationConfigJson;
  /** What follows the prompt (the transform's system instruction and config): built once. */
  private transient byte[] tail;

  GenerateKind(String systemInstruction, String generationConfigJson) {
    this.systemInstruction = systemInstruction;
    this.generationConfigJson = generationConfigJson;
  }

  @Override
  BatchKind kind() {
    return BatchKind.GENERATE;
  }

  @Override
  org.apache.beam.sdk.coders.Coder<GenerateResponse> outputCoder() {
    return GenerateResponse.ResponseCoder.of();
  }

  @Override
  byte[] requestFromText(String text) {
    if (tail == null) {
      StringBuilder sb = new StringBuilder("}]}]");
      if (systemInstruction != null) {
        sb.append(",\"systemInstruction\":{\"parts\":[{\"text\":")
            .append(Json.quote(systemInstruction))
            .append("}]}");
      }
      if (generationConfigJson != null) {
        sb.append(",\"generationConfig\":").append(generationConfigJson);
      }
      tail = Json.utf8(sb.append('}').toString());
    }
    return Json.quoted(PROMPT_HEAD, text, tail);
  }

  @Override
  String validateAndComplete(String requestJson) throws InvalidRequestException {
    boolean hasContents =
        walkRequest(requestJson, "a GenerateContentRequest", "contents", (field, value, p) -> {
          if (field.equals("contents")
              && (value != JsonToken.START_ARRAY || p.nextToken() == JsonToken.END_ARRAY)) {
            throw new InvalidRequestException(
                "request field 'contents' must be a non-empty array of Content, got "
                    + (value == JsonToken.START_ARRAY ? "an empty array" : Json.kindOf(value)));
          }
          p.skipChildren();
          if (field.equals("contents")) {
            while (p.nextToken() != JsonToken.END_ARRAY) {
              p.skipChildren();
            }
          }
        });
    if (!hasContents) {
      throw new InvalidRequestException(
          "request has no field 'contents': a GenerateContentRequest needs at least one Content");
    }
    return requestJson;
  }

  /** What one response yields before its key is known: its token counts. */
  private static final class Partial {
    long promptTokens;
    long candidatesTokens;
    long totalTokens;
  }

  @Override
  Object fromUsage(long promptTokens, long candidatesTokens, long totalTokens) {
    Partial r = new Partial();
    r.promptTokens = promptTokens;
    r.candidatesTokens = candidatesTokens;
    r.totalTokens = totalTokens;
    return r;
  }

  /** Reads the token counts; the candidates are skipped (the text is read on first use). */
  @Override
  Object readResponse(JsonParser p) throws IOException {
    Partial r = new Partial();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("usageMetadata") && value == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          p.nextToken();
          switch (name) {
            case "promptTokenCount":
              r.promptTokens = Json.longValue(p);
              break;
            case "candidatesTokenCount":
              r.candidatesTokens = Json.longValue(p);
              break;
            case "totalTokenCount":
              r.totalTokens = Json.longValue(p);
              break;
            default:
              p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
    }
    return r;
  }

  @Override
  GenerateResponse toOutput(
      String key, Object partial, byte[] raw, int start, int end, String jobName) {
    Partial r = (Partial) partial;
    return new GenerateResponse(
        key,
        Arrays.copyOfRange(raw, start, end),
        r.promptTokens,
        r.candidatesTokens,
        r.totalTokens,
        jobName);
  }

  private static final byte[] RESPONSE_FIELD = Json.utf8(",\"response\":");

  @Override
  byte[] resultLine(GenerateResponse output) {
    return keyedLine(output.getKey(), RESPONSE_FIELD, output.getResponseJsonUtf8());
  }

  @Override
  void writeResultLine(String key, Object partial, byte[] raw, int start, int end, java.io.OutputStream out, long[] tokens)
      throws java.io.IOException {
    writeKeyedLine(out, key, RESPONSE_FIELD, raw, start, end);
    Partial r = (Partial) partial;
    tokens[0] += r.promptTokens;
    tokens[1] += r.candidatesTokens;
  }

  @Override
  void count(GenerateResponse output, long[] tokens) {
    tokens[0] += output.getPromptTokenCount();
    tokens[1] += output.getCandidatesTokenCount();
  }
}
