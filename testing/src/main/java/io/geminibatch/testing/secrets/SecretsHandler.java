package io.geminibatch.testing.secrets;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/** Secret Manager's {@code versions.access} over HTTP (see {@link SecretStore}). */
public final class SecretsHandler implements HttpHandler {
  private static final Pattern ACCESS =
      Pattern.compile("/v1/projects/([^/]+)/secrets/([^/]+)/versions/([^/:]+):access");
  private static final JsonFactory JSON = new JsonFactory();

  private final SecretStore store;
  private final boolean verbose;

  public SecretsHandler(SecretStore store, boolean verbose) {
    this.store = store;
    this.verbose = verbose;
  }

  /** True for the paths this handler serves (for the emulator's router). */
  public static boolean serves(String path) {
    return path.startsWith("/v1/projects/") && path.contains("/secrets/");
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    int code;
    byte[] body;
    try {
      ex.getRequestBody().transferTo(OutputStream.nullOutputStream());
      Matcher m = ACCESS.matcher(ex.getRequestURI().getPath());
      if (!m.matches() || !ex.getRequestMethod().equals("GET")) {
        throw new SecretStore.SecretException(
            404, "NOT_FOUND",
            "The emulator serves only GET /v1/projects/P/secrets/S/versions/V:access, not "
                + ex.getRequestMethod() + " " + ex.getRequestURI().getPath());
      }
      SecretStore.Version v = store.access(m.group(1), m.group(2), m.group(3));
      CRC32C crc = new CRC32C();
      crc.update(v.data());
      body =
          json(
              g -> {
                g.writeStringField(
                    "name", "projects/" + m.group(1) + "/secrets/" + m.group(2) + "/versions/" + v.number());
                g.writeObjectFieldStart("payload");
                g.writeStringField("data", Base64.getEncoder().encodeToString(v.data()));
                g.writeStringField("dataCrc32c", Long.toString(crc.getValue()));
                g.writeEndObject();
              });
      code = 200;
    } catch (SecretStore.SecretException e) {
      code = e.httpCode;
      body =
          json(
              g -> {
                g.writeObjectFieldStart("error");
                g.writeNumberField("code", e.httpCode);
                g.writeStringField("message", e.getMessage());
                g.writeStringField("status", e.status);
                g.writeEndObject();
              });
    }
    try {
      ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
      ex.sendResponseHeaders(code, body.length);
      ex.getResponseBody().write(body);
    } finally {
      if (verbose) {
        // Never the payload: only the method, the path and the status.
        System.err.println("[gemini-emulator] secrets " + ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " -> " + code);
      }
      ex.close();
    }
  }

  @FunctionalInterface
  private interface Fields {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] json(Fields f) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      f.write(g);
      g.writeEndObject();
    }
    return out.toByteArray();
  }
}
