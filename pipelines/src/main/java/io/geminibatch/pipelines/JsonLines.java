package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.geminibatch.connector.EmbedResponse;
import io.geminibatch.connector.GenerateFailure;
import io.geminibatch.connector.GenerateResponse;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/** The output files' lines, one JSON object each. */
final class JsonLines {
  private static final JsonFactory JSON = new JsonFactory();

  private JsonLines() {}

  @FunctionalInterface
  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  /** {@code {"key": ..., "response": GenerateContentResponse}}, the response exactly as returned. */
  static String response(GenerateResponse r) {
    return line(r.getKey(), g -> {
      g.writeFieldName("response");
      g.writeRawValue(r.getResponseJson());
    });
  }

  /** {@code {"key": ..., "embedding": {"values": [...]}}}. */
  static String embedding(EmbedResponse r) {
    return line(r.getKey(), g -> {
      g.writeObjectFieldStart("embedding");
      g.writeArrayFieldStart("values");
      for (float v : r.getValues()) {
        g.writeNumber(v);
      }
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  /** {@code {"key", "stage", "code", "message", "jobName", "attempts"}}. */
  static String failure(GenerateFailure f) {
    return line(f.getKey(), g -> {
      g.writeStringField("stage", f.getStage().name());
      g.writeNumberField("code", f.getErrorCode());
      g.writeStringField("message", f.getMessage());
      g.writeStringField("jobName", f.getJobName());
      g.writeNumberField("attempts", f.getAttempts());
    });
  }

  private static String line(String key, Body body) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("key", key);
      body.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }
}
