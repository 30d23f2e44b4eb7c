package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.geminibatch.connector.client.BatchKind;
import java.io.IOException;
import java.util.Arrays;

/** {@code embed()}: EmbedContentRequests in, float vectors out. */
final class EmbedKind extends KindSupport<EmbedResponse> {
  private static final long serialVersionUID = 1L;

  /** The largest dimensionality Gemini embedding models produce. */
  static final int MAX_DIMENSIONALITY = 3072;

  private static final byte[] TEXT_HEAD = Json.utf8("{\"content\":{\"parts\":[{\"text\":");

  private final String taskType;
  private final Integer outputDimensionality;
  /** What follows the text (the transform's task type and dimensionality): built once. */
  private transient byte[] tail;

  EmbedKind(String taskType, Integer outputDimensionality) {
    this.taskType = taskType;
    this.outputDimensionality = outputDimensionality;
  }

  @Override
  BatchKind kind() {
    return BatchKind.EMBED;
  }

  @Override
  org.apache.beam.sdk.coders.Coder<EmbedResponse> outputCoder() {
    return EmbedResponse.ResponseCoder.of();
  }

  @Override
  byte[] requestFromText(String text) {
    if (tail == null) {
      StringBuilder sb = new StringBuilder("}]}");
      if (taskType != null) {
        sb.append(",\"taskType\":").append(Json.quote(taskType));
      }
      if (outputDimensionality != null) {
        sb.append(",\"outputDimensionality\":").append(outputDimensionality);
      }
      tail = Json.utf8(sb.append('}').toString());
    }
    return Json.quoted(TEXT_HEAD, text, tail);
  }

  @Override
  String validateAndComplete(String requestJson) throws InvalidRequestException {
    boolean[] hasDimensionality = {false};
    boolean hasContent =
        walkRequest(requestJson, "an EmbedContentRequest", "content", (field, value, p) -> {
          if (field.equals("content")) {
            checkContent(p, value);
          } else if (field.equals("outputDimensionality") || field.equals("output_dimensionality")) {
            checkDimensionality(p, value);
            hasDimensionality[0] = true;
          } else {
            p.skipChildren();
          }
        });
    if (!hasContent) {
      throw new InvalidRequestException(
          "request has no field 'content': an EmbedContentRequest needs the content to embed");
    }
    if (hasDimensionality[0] || outputDimensionality == null) {
      return requestJson;
    }
    // Add the transform's dimensionality without re-serialising the request.
    int brace = requestJson.indexOf('{');
    String rest = requestJson.substring(brace + 1).trim();
    return "{\"outputDimensionality\":"
        + outputDimensionality
        + (rest.startsWith("}") ? "" : ",")
        + rest;
  }

  private static void checkContent(JsonParser p, JsonToken value)
      throws IOException, InvalidRequestException {
    if (value != JsonToken.START_OBJECT) {
      throw new InvalidRequestException(
          "request field 'content' must be an object with 'parts', got " + Json.kindOf(value));
    }
    int parts = 0;
    int textParts = 0;
    int textLength = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("parts") && v == JsonToken.START_ARRAY) {
        while (p.nextToken() == JsonToken.START_OBJECT) {
          parts++;
          boolean onlyText = true;
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String partField = p.currentName();
            JsonToken pv = p.nextToken();
            if (partField.equals("text") && pv == JsonToken.VALUE_STRING) {
              textLength += p.getText().trim().length();
            } else {
              onlyText = false;
              p.skipChildren();
            }
          }
          if (onlyText) {
            textParts++;
          }
        }
      } else {
        p.skipChildren();
      }
    }
    if (parts == 0) {
      throw new InvalidRequestException(
          "request field 'content.parts' must be a non-empty array of Part");
    }
    if (textParts == parts && textLength == 0) {
      throw new InvalidRequestException("request text is empty: there is nothing to embed");
    }
  }

  static void checkDimensionality(JsonParser p, JsonToken value) throws IOException, InvalidRequestException {
    if (value != JsonToken.VALUE_NUMBER_INT
        || p.getLongValue() < 1
        || p.getLongValue() > MAX_DIMENSIONALITY) {
      throw new InvalidRequestException(
          "request field 'outputDimensionality' must be an integer in [1, "
              + MAX_DIMENSIONALITY
              + "], got "
              + p.getText());
    }
  }

  /** Empty {@code ContentEmbedding}, for a response without one. */
  private static final byte[] NO_EMBEDDING = Json.utf8("{\"values\":[]}");

  /**
   * Finds the response's {@code embedding} object and returns its byte range, relative to the
   * response's start, as {start, end}; its numbers are read on first use ({@link
   * EmbedResponse#getValues()}).
   */
  @Override
  Object readResponse(JsonParser p) throws IOException {
    long origin = p.currentTokenLocation().getByteOffset();
    int[] range = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("embedding") && value == JsonToken.START_OBJECT) {
        int start = (int) (p.currentTokenLocation().getByteOffset() - origin);
        p.skipChildren();
        range = new int[] {start, (int) (p.currentLocation().getByteOffset() - origin)};
      } else {
        p.skipChildren();
      }
    }
    return range;
  }

  @Override
  EmbedResponse toOutput(String key, Object partial, byte[] raw, int start, int end, String jobName) {
    int[] range = (int[]) partial;
    byte[] embedding =
        range == null ? NO_EMBEDDING : Arrays.copyOfRange(raw, start + range[0], start + range[1]);
    return new EmbedResponse(key, embedding, jobName);
  }

  @Override
  void count(EmbedResponse output, long[] tokens) {}

  @Override
  void writeResultLine(String key, Object partial, byte[] raw, int start, int end, java.io.OutputStream out, long[] tokens)
      throws java.io.IOException {
    int[] range = (int[]) partial;
    if (range == null) {
      writeKeyedLine(out, key, EMBEDDING_FIELD, NO_EMBEDDING, 0, NO_EMBEDDING.length);
    } else {
      writeKeyedLine(out, key, EMBEDDING_FIELD, raw, start + range[0], start + range[1]);
    }
  }

  private static final byte[] EMBEDDING_FIELD = Json.utf8(",\"embedding\":");

  @Override
  byte[] resultLine(EmbedResponse output) {
    return keyedLine(output.getKey(), EMBEDDING_FIELD, output.getEmbeddingJsonUtf8());
  }
}
