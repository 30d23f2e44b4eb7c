package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.geminibatch.connector.client.BatchKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** {@code generate()}: GenerateContentRequests in, GenerateContentResponses out. */
final class GenerateKind extends KindSupport<GenerateResponse> {
  private static final long serialVersionUID = 1L;

  private final String systemInstruction;
  private final String generationConfigJson;

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
  String requestFromText(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 64);
    sb.append("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":")
        .append(Json.quote(text))
        .append("}]}]");
    if (systemInstruction != null) {
      sb.append(",\"systemInstruction\":{\"parts\":[{\"text\":")
          .append(Json.quote(systemInstruction))
          .append("}]}");
    }
    if (generationConfigJson != null) {
      sb.append(",\"generationConfig\":").append(generationConfigJson);
    }
    return sb.append('}').toString();
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

  /** What one response yields before its key is known. */
  private static final class Partial {
    final StringBuilder text = new StringBuilder();
    String finishReason;
    long promptTokens;
    long candidatesTokens;
    long totalTokens;
  }

  @Override
  Object readResponse(JsonParser p) throws IOException {
    Partial r = new Partial();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("candidates") && value == JsonToken.START_ARRAY) {
        if (p.nextToken() == JsonToken.START_OBJECT) {
          readCandidate(p, r);
          while (p.nextToken() != JsonToken.END_ARRAY) {
            p.skipChildren();
          }
        }
      } else if (field.equals("usageMetadata") && value == JsonToken.START_OBJECT) {
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

  /** Reads the first candidate: its text parts (thoughts left out) and finish reason. */
  private static void readCandidate(JsonParser p, Partial r) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("finishReason")) {
        r.finishReason = p.getValueAsString();
      } else if (field.equals("content") && value == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken v = p.nextToken();
          if (name.equals("parts") && v == JsonToken.START_ARRAY) {
            while (p.nextToken() == JsonToken.START_OBJECT) {
              readPart(p, r);
            }
          } else {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
    }
  }

  private static void readPart(JsonParser p, Partial r) throws IOException {
    String text = null;
    boolean thought = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("text") && v == JsonToken.VALUE_STRING) {
        text = p.getText();
      } else if (name.equals("thought")) {
        thought = v == JsonToken.VALUE_TRUE;
      } else {
        p.skipChildren();
      }
    }
    if (text != null && !thought) {
      r.text.append(text);
    }
  }

  @Override
  GenerateResponse toOutput(
      String key, Object partial, byte[] raw, int start, int end, String jobName) {
    Partial r = (Partial) partial;
    return new GenerateResponse(
        key,
        new String(raw, start, end - start, StandardCharsets.UTF_8),
        r.text.toString(),
        r.finishReason,
        r.promptTokens,
        r.candidatesTokens,
        r.totalTokens,
        jobName);
  }

  @Override
  void count(GenerateResponse output, StageMetrics metrics) {
    metrics.promptTokens.inc(output.getPromptTokenCount());
    metrics.candidatesTokens.inc(output.getCandidatesTokenCount());
  }
}
