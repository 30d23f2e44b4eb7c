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

  private final String taskType;
  private final Integer outputDimensionality;

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
  String requestFromText(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 64);
    sb.append("{\"content\":{\"parts\":[{\"text\":").append(Json.quote(text)).append("}]}");
    if (taskType != null) {
      sb.append(",\"taskType\":").append(Json.quote(taskType));
    }
    if (outputDimensionality != null) {
      sb.append(",\"outputDimensionality\":").append(outputDimensionality);
    }
    return sb.append('}').toString();
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

  @Override
  Object readResponse(JsonParser p) throws IOException {
    float[] values = new float[0];
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("embedding") && value == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken v = p.nextToken();
          if (name.equals("values") && v == JsonToken.START_ARRAY) {
            values = readFloats(p);
          } else {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
    }
    return values;
  }

  /** Parses a JSON array of numbers straight into a float array, growing it as needed. */
  private static float[] readFloats(JsonParser p) throws IOException {
    float[] out = new float[768];
    int n = 0;
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT) {
        throw new IOException("embedding.values holds " + Json.kindOf(t) + ", not a number");
      }
      if (n == out.length) {
        out = Arrays.copyOf(out, n * 2);
      }
      out[n++] = p.getFloatValue();
    }
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  @Override
  EmbedResponse toOutput(String key, Object partial, byte[] raw, int start, int end, String jobName) {
    return new EmbedResponse(key, (float[]) partial, jobName);
  }

  @Override
  void count(EmbedResponse output, StageMetrics metrics) {}
}
