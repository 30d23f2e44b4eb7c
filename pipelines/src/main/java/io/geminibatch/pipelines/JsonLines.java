package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.geminibatch.connector.EmbedResponse;
import io.geminibatch.connector.GenerateFailure;
import io.geminibatch.connector.GenerateRequest;
import io.geminibatch.connector.GenerateResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The output files' lines, one JSON object each, as UTF-8 bytes ending in a newline. A response
 * or an embedding is copied as the service sent it, never parsed and written again.
 */
final class JsonLines {
  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] KEY = utf8("{\"key\":\"");
  private static final byte[] RESPONSE = utf8("\",\"response\":");
  private static final byte[] EMBEDDING = utf8("\",\"embedding\":");
  private static final byte[] PROMPT = utf8("\",\"prompt\":\"");
  private static final byte[] REQUEST = utf8("\",\"request\":");
  private static final byte[] END = utf8("}\n");

  private JsonLines() {}

  /** {@code {"key": ..., "response": GenerateContentResponse}}, the response exactly as returned. */
  static byte[] response(GenerateResponse r) {
    return keyed(r.getKey(), RESPONSE, r.getResponseJsonUtf8());
  }

  /** {@code {"key": ..., "embedding": {"values": [...]}}}, the embedding exactly as returned. */
  static byte[] embedding(EmbedResponse r) {
    return keyed(r.getKey(), EMBEDDING, r.getEmbeddingJsonUtf8());
  }

  /**
   * An input as a line: {@code {"key": ..., "prompt": "..."}}, or {@code {"key": ..., "request":
   * {...}}} with the request as given (the benchmark's runner floor writes these).
   */
  static byte[] input(GenerateRequest r) {
    if (r.getPrompt() == null) {
      return keyed(r.getKey(), REQUEST, utf8(r.getRequestJson()));
    }
    byte[] quoted = JsonStringEncoder.getInstance().quoteAsUTF8(r.getPrompt());
    byte[] value = Arrays.copyOf(quoted, quoted.length + 1);
    value[quoted.length] = '"';
    return keyed(r.getKey(), PROMPT, value);
  }

  /** {@code {"key":"K",<field>:<value>}\n}, in one array. */
  private static byte[] keyed(String key, byte[] field, byte[] value) {
    byte[] quoted = JsonStringEncoder.getInstance().quoteAsUTF8(key);
    byte[] line = new byte[KEY.length + quoted.length + field.length + value.length + END.length];
    int at = put(line, 0, KEY);
    at = put(line, at, quoted);
    at = put(line, at, field);
    at = put(line, at, value);
    put(line, at, END);
    return line;
  }

  private static int put(byte[] to, int at, byte[] part) {
    System.arraycopy(part, 0, to, at, part.length);
    return at + part.length;
  }

  /** {@code {"key", "stage", "code", "message", "jobName", "attempts"}}. */
  static byte[] failure(GenerateFailure f) {
    return failure(f.getKey(), f.getStage(), f.getErrorCode(), f.getMessage(), f.getJobName(), f.getAttempts());
  }

  /** A failure line for an input line that was never sent: stage {@code VALIDATE}, no job, no attempt. */
  static byte[] invalidLine(String key, String message, int code) {
    return failure(key, GenerateFailure.Stage.VALIDATE, code, message, null, 0);
  }

  private static byte[] failure(
      String key, GenerateFailure.Stage stage, int code, String message, String jobName, int attempts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("key", key);
      g.writeStringField("stage", stage.name());
      g.writeNumberField("code", code);
      g.writeStringField("message", message);
      g.writeStringField("jobName", jobName);
      g.writeNumberField("attempts", attempts);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.write('\n');
    return out.toByteArray();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
