package io.geminibatch.connector.client;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.geminibatch.connector.client.GeminiBatchClient.InlinedResponseVisitor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * Streaming readers and writers of the API's JSON. Nothing here builds a tree: an Operation can
 * carry megabytes of inlined responses, which are skipped or copied one element at a time.
 */
final class ApiJson {
  private static final JsonFactory FACTORY =
      JsonFactory.builder().disable(StreamReadFeature.AUTO_CLOSE_SOURCE).build();
  private static final int ERROR_TEXT_CHARS = 200;

  private ApiJson() {}

  /** Writes JSON; the generator is flushed, not closed, so the JSON may stay unfinished. */
  @FunctionalInterface
  interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  /** Reads one JSON document from a parser positioned before its first token. */
  @FunctionalInterface
  interface Reader<T> {
    T read(JsonParser p) throws IOException;
  }

  static byte[] write(Writer writer) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonGenerator g = FACTORY.createGenerator(out);
    writer.write(g);
    g.flush();
    return out.toByteArray();
  }

  static <T> T read(InputStream in, Reader<T> reader) throws IOException {
    try (JsonParser p = FACTORY.createParser(in)) {
      return reader.read(p);
    }
  }

  // ---- Operations ----

  /** A batch Operation ({@code {"name", "metadata", "done", "error"|"response"}}). */
  static BatchJob readOperation(JsonParser p) throws IOException {
    startObject(p);
    BatchJob.Builder b = BatchJob.builder();
    String name = null;
    String metadataName = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "name" -> name = p.getValueAsString();
        case "metadata" -> metadataName = readMetadata(p, b);
        case "error" -> b.error(readStatus(p));
        case "response" -> readOutput(p, b);
        default -> p.skipChildren();
      }
    }
    name = name != null ? name : metadataName;
    if (name == null) {
      throw new JsonParseException(p, "batch Operation without a name");
    }
    return b.name(name).build();
  }

  /** {@code GenerateContentBatch}/{@code EmbedContentBatch} metadata; returns its name. */
  private static String readMetadata(JsonParser p, BatchJob.Builder b) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return null;
    }
    String name = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "name" -> name = p.getValueAsString();
        case "displayName" -> b.displayName(p.getValueAsString());
        case "model" -> b.model(p.getValueAsString());
        case "state" -> b.rawState(p.getValueAsString());
        case "createTime" -> b.createTime(readTime(p));
        case "updateTime" -> b.updateTime(readTime(p));
        case "endTime" -> b.endTime(readTime(p));
        case "batchStats" -> readStats(p, b);
        case "inputConfig" -> readInputConfig(p, b);
        case "output" -> readOutput(p, b);
        default -> p.skipChildren();
      }
    }
    return name;
  }

  private static void readStats(JsonParser p, BatchJob.Builder b) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      // int64 counts are JSON strings on the wire; getValueAsLong reads strings and numbers.
      switch (field) {
        case "requestCount" -> b.requestCount(p.getValueAsLong());
        case "successfulRequestCount" -> b.successfulRequestCount(p.getValueAsLong());
        case "failedRequestCount" -> b.failedRequestCount(p.getValueAsLong());
        case "pendingRequestCount" -> b.pendingRequestCount(p.getValueAsLong());
        default -> p.skipChildren();
      }
    }
  }

  private static void readInputConfig(JsonParser p, BatchJob.Builder b) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("fileName")) {
        b.inputFileName(p.getValueAsString());
      } else {
        p.skipChildren(); // an echo of inline requests can be large
      }
    }
  }

  /** {@code metadata.output} or the Operation's {@code response}: same shape. */
  private static void readOutput(JsonParser p, BatchJob.Builder b) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("responsesFile")) {
        b.responsesFile(p.getValueAsString());
      } else {
        if (isInlinedField(field) && value != JsonToken.VALUE_NULL) {
          b.inlinedOutput(true);
        }
        p.skipChildren();
      }
    }
  }

  private static boolean isInlinedField(String field) {
    return field.equals("inlinedResponses") || field.equals("inlinedEmbedContentResponses");
  }

  /** A {@code google.rpc.Status}; {@code details} are skipped. */
  static ApiStatus readStatus(JsonParser p) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return null;
    }
    int code = 0;
    String message = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "code" -> code = p.getValueAsInt();
        case "message" -> message = p.getValueAsString();
        default -> p.skipChildren();
      }
    }
    return new ApiStatus(code, message);
  }

  private static Instant readTime(JsonParser p) throws IOException {
    String text = p.getValueAsString();
    if (text == null) {
      return null;
    }
    try {
      // RFC 3339: Z or an offset, 0 to 9 fraction digits.
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw new JsonParseException(p, "not an RFC 3339 timestamp: " + text, e);
    }
  }

  /** {@code {"operations": [...], "nextPageToken": "..."}}. */
  static BatchPage readOperationsPage(JsonParser p) throws IOException {
    startObject(p);
    List<BatchJob> jobs = new ArrayList<>();
    String next = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      if (field.equals("operations") && value == JsonToken.START_ARRAY) {
        while (p.nextToken() != JsonToken.END_ARRAY) {
          jobs.add(readOperation(p));
        }
      } else if (field.equals("nextPageToken")) {
        next = p.getValueAsString();
      } else {
        p.skipChildren();
      }
    }
    return new BatchPage(jobs, next);
  }

  // ---- Inlined responses ----

  /**
   * Hands each element of the Operation's inlined responses to {@code visitor}. The service may put
   * the same array in {@code metadata.output} and in {@code response}; the first one in the body is
   * visited (the service writes {@code metadata} first), any other is skipped.
   */
  static void readInlinedResponses(JsonParser p, InlinedResponseVisitor visitor)
      throws IOException {
    startObject(p);
    boolean visited = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("response")) {
        visited |= readInlinedOutput(p, visitor, visited);
      } else if (field.equals("metadata") && p.currentToken() == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String metadataField = p.currentName();
          p.nextToken();
          if (metadataField.equals("output")) {
            visited |= readInlinedOutput(p, visitor, visited);
          } else {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
    }
  }

  /** Visits the array in one output object unless {@code skip}; true if it visited one. */
  private static boolean readInlinedOutput(
      JsonParser p, InlinedResponseVisitor visitor, boolean skip) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return false;
    }
    boolean visited = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (!skip
          && !visited
          && isInlinedField(field)
          && p.currentToken() == JsonToken.START_OBJECT) {
        // {"inlinedResponses": [...]} wraps the array.
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String inner = p.currentName();
          p.nextToken();
          if (!visited
              && inner.equals("inlinedResponses")
              && p.currentToken() == JsonToken.START_ARRAY) {
            visitArray(p, visitor);
            visited = true;
          } else {
            p.skipChildren();
          }
        }
      } else {
        p.skipChildren();
      }
    }
    return visited;
  }

  private static void visitArray(JsonParser p, InlinedResponseVisitor visitor) throws IOException {
    int index = 0;
    while (p.nextToken() == JsonToken.START_OBJECT) {
      String key = null;
      byte[] response = null;
      ApiStatus error = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        switch (field) {
          case "metadata" -> key = readMetadataKey(p);
          case "response" -> response = copy(p);
          case "error" -> error = readStatus(p);
          default -> p.skipChildren();
        }
      }
      visitor.visit(index++, key, response, error);
    }
    if (p.currentToken() != JsonToken.END_ARRAY) {
      throw new JsonParseException(p, "inlinedResponses holds a non-object");
    }
  }

  private static String readMetadataKey(JsonParser p) throws IOException {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      p.skipChildren();
      return null;
    }
    String key = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("key") && p.currentToken().isScalarValue()) {
        key = p.getValueAsString();
      } else {
        p.skipChildren();
      }
    }
    return key;
  }

  /** The current value as UTF-8 JSON, or null for JSON null. */
  private static byte[] copy(JsonParser p) throws IOException {
    if (p.currentToken() == JsonToken.VALUE_NULL) {
      return null;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.copyCurrentStructure(p);
    }
    return out.toByteArray();
  }

  // ---- Files ----

  /** A File resource. */
  static GeminiFile readFile(JsonParser p) throws IOException {
    startObject(p);
    String name = null;
    String displayName = null;
    String mimeType = null;
    long sizeBytes = 0;
    String state = null;
    String uri = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "name" -> name = p.getValueAsString();
        case "displayName" -> displayName = p.getValueAsString();
        case "mimeType" -> mimeType = p.getValueAsString();
        case "sizeBytes" -> sizeBytes = p.getValueAsLong();
        case "state" -> state = p.getValueAsString();
        case "uri" -> uri = p.getValueAsString();
        default -> p.skipChildren();
      }
    }
    if (name == null) {
      throw new JsonParseException(p, "File without a name");
    }
    return new GeminiFile(name, displayName, mimeType, sizeBytes, state, uri);
  }

  /** The final reply of an upload, {@code {"file": File}}. */
  static GeminiFile readUploadReply(JsonParser p) throws IOException {
    startObject(p);
    GeminiFile file = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("file")) {
        file = readFile(p);
      } else {
        p.skipChildren();
      }
    }
    if (file == null) {
      throw new JsonParseException(p, "upload reply without a \"file\"");
    }
    return file;
  }

  // ---- Errors ----

  /**
   * The exception for an error reply: {@code {"error": {"code", "message", "status"}}}, or the
   * start of a body that is not such JSON. {@code secret} is cut out of any text the service sent,
   * in case it echoes the request.
   */
  static GeminiApiException error(
      String call, int httpStatus, byte[] body, Duration retryAfter, String secret) {
    String status = null;
    String message = null;
    try (JsonParser p = FACTORY.createParser(body)) {
      if (p.nextToken() == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          p.nextToken();
          if (field.equals("error") && p.currentToken() == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String inner = p.currentName();
              p.nextToken();
              switch (inner) {
                case "status" -> status = p.getValueAsString();
                case "message" -> message = p.getValueAsString();
                default -> p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
      }
    } catch (IOException notJson) {
      status = null;
      message = null;
    }
    if (status == null && message == null) {
      String text = new String(body, StandardCharsets.UTF_8);
      message = text.length() > ERROR_TEXT_CHARS ? text.substring(0, ERROR_TEXT_CHARS) : text;
    }
    return new GeminiApiException(
        call, httpStatus, redact(status, secret), redact(message, secret), retryAfter);
  }

  private static String redact(String text, String secret) {
    return text == null || secret.isEmpty() ? text : text.replace(secret, "<redacted>");
  }

  private static void startObject(JsonParser p) throws IOException {
    if (p.currentToken() == null) {
      p.nextToken();
    }
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw new JsonParseException(p, "expected a JSON object, got " + p.currentToken());
    }
  }
}
