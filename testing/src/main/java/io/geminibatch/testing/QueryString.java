package io.geminibatch.testing;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** The query string of a Google API call, as the Gemini API's handlers read it. */
public final class QueryString {
  private QueryString() {}

  /**
   * Name → value, percent- and {@code +}-decoded; the first of repeated names wins. A malformed
   * escape is answered 400 INVALID_ARGUMENT "Malformed query string.".
   */
  public static Map<String, String> parse(String rawQuery) {
    Map<String, String> q = new HashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return q;
    }
    for (String pair : rawQuery.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      try {
        q.putIfAbsent(
            URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw ApiError.invalidArgument("Malformed query string.");
      }
    }
    return q;
  }
}
