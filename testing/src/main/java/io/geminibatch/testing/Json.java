package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** JSON and time helpers shared by the emulator. */
final class Json {
  /**
   * Lenient like the real front end: the guide's curl examples send single-quoted pseudo-JSON.
   */
  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
          .disable(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_TARGET)
          .disable(JsonParser.Feature.AUTO_CLOSE_SOURCE)
          .build();

  static final JsonFactory FACTORY = MAPPER.getFactory();

  private static final DateTimeFormatter RFC3339_NANOS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  private Json() {}

  /** {@code s} as a JSON string literal, quotes included. */
  static String quote(String s) {
    try {
      return MAPPER.writeValueAsString(s);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** RFC 3339, UTC, nine fractional digits, as the live API writes timestamps. */
  static String time(Instant t) {
    return RFC3339_NANOS.format(t);
  }

  /**
   * Proto JSON accepts a field by its camelCase name or its original snake_case name: returns
   * whichever is present (camelCase wins), or null.
   */
  static JsonNode field(JsonNode object, String camelName) {
    if (object == null || !object.isObject()) {
      return null;
    }
    JsonNode v = object.get(camelName);
    if (v == null) {
      String snake = snake(camelName);
      if (!snake.equals(camelName)) {
        v = object.get(snake);
      }
    }
    return v == null || v.isNull() ? null : v;
  }

  /** {@code display_name} → {@code displayName}; names without '_' are returned as they are. */
  static String camel(String name) {
    if (name.indexOf('_') < 0) {
      return name;
    }
    StringBuilder sb = new StringBuilder(name.length());
    boolean up = false;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '_') {
        up = true;
      } else {
        sb.append(up ? Character.toUpperCase(c) : c);
        up = false;
      }
    }
    return sb.toString();
  }

  /** {@code displayName} → {@code display_name}. */
  static String snake(String name) {
    StringBuilder sb = new StringBuilder(name.length() + 4);
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isUpperCase(c)) {
        sb.append('_').append(Character.toLowerCase(c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}
