package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.geminibatch.testing.EmulatorResponder;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The benchmark's yardstick: what one thread with no Beam does with the same prompts. It reads the
 * prompts file, encodes the same {@code {"key","request"}} JSONL lines the connector stages (same
 * keys, same request JSON), streams them over loopback HTTP to a server that writes them to disk,
 * then streams back a result file in the service's format (one line per prompt, as the emulator
 * answers it) and parses every line with Jackson's streaming parser. The result file is written
 * before the clock starts: producing it is the service's part.
 */
final class PlainLoopBaseline {
  private static final JsonFactory JSON = new JsonFactory();

  static {
    // The JDK's HTTP server reads this once, when the first server of the JVM starts: without it,
    // small replies wait for Nagle's algorithm (40 ms each), here and in the emulator started
    // after this server.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private PlainLoopBaseline() {}

  /** What one run measured. */
  static final class Figures {
    final long lines;
    final long uploadedBytes;
    final long downloadedBytes;
    final double uploadSeconds;
    final double downloadSeconds;

    Figures(long lines, long uploadedBytes, long downloadedBytes, double uploadSeconds, double downloadSeconds) {
      this.lines = lines;
      this.uploadedBytes = uploadedBytes;
      this.downloadedBytes = downloadedBytes;
      this.uploadSeconds = uploadSeconds;
      this.downloadSeconds = downloadSeconds;
    }

    double seconds() {
      return uploadSeconds + downloadSeconds;
    }
  }

  /** Runs the baseline on {@code prompts}, with its files in {@code dir}. */
  static Figures run(Path prompts, Path dir, String model) throws IOException {
    Files.createDirectories(dir);
    Path received = dir.resolve("received.jsonl");
    Path results = dir.resolve("results.jsonl");
    writeResults(prompts, results, model);
    ExecutorService threads = Executors.newFixedThreadPool(2);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.setExecutor(threads);
    server.createContext("/upload", ex -> receive(ex, received));
    server.createContext("/results", ex -> send(ex, results));
    server.start();
    try {
      String base = "http://127.0.0.1:" + server.getAddress().getPort();
      long t0 = System.nanoTime();
      long[] up = upload(prompts, base + "/upload");
      long t1 = System.nanoTime();
      long[] down = download(base + "/results");
      long t2 = System.nanoTime();
      if (down[0] != up[0]) {
        throw new IOException("baseline: sent " + up[0] + " lines, parsed " + down[0] + " results");
      }
      return new Figures(up[0], up[1], down[1], (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    } finally {
      server.stop(0);
      threads.shutdownNow();
      Files.deleteIfExists(received);
      Files.deleteIfExists(results);
    }
  }

  /** The server's upload: the body straight to disk. */
  private static void receive(HttpExchange ex, Path to) throws IOException {
    try (InputStream in = ex.getRequestBody(); OutputStream out = Files.newOutputStream(to)) {
      in.transferTo(out);
    }
    ex.sendResponseHeaders(200, -1);
    ex.close();
  }

  /** The server's download: the file from disk. */
  private static void send(HttpExchange ex, Path file) throws IOException {
    ex.sendResponseHeaders(200, Files.size(file));
    try (OutputStream out = ex.getResponseBody()) {
      Files.copy(file, out);
    }
  }

  /** The request JSONL line the connector stages for a plain prompt. */
  private static void writeRequestLine(JsonGenerator g, String key, String prompt) throws IOException {
    g.writeStartObject();
    g.writeStringField("key", key);
    g.writeObjectFieldStart("request");
    g.writeArrayFieldStart("contents");
    g.writeStartObject();
    g.writeStringField("role", "user");
    g.writeArrayFieldStart("parts");
    g.writeStartObject();
    g.writeStringField("text", prompt);
    g.writeEndObject();
    g.writeEndArray();
    g.writeEndObject();
    g.writeEndArray();
    g.writeEndObject();
    g.writeEndObject();
    g.writeRaw('\n');
  }

  /** Encodes and sends every prompt in one chunked POST; returns {lines, bytes}. */
  private static long[] upload(Path prompts, String url) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
    c.setDoOutput(true);
    c.setRequestMethod("POST");
    c.setRequestProperty("Content-Type", "application/jsonl");
    c.setChunkedStreamingMode(1 << 16);
    long lines = 0;
    long bytes;
    String fileName = prompts.getFileName().toString();
    try (BufferedReader in = Files.newBufferedReader(prompts, StandardCharsets.UTF_8);
        CountingOutputStream counted = new CountingOutputStream(new BufferedOutputStream(c.getOutputStream(), 1 << 16));
        JsonGenerator g = JSON.createGenerator(counted)) {
      g.setRootValueSeparator(null);
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lines++;
        writeRequestLine(g, InputLines.lineKey(fileName, lines, line), line);
      }
      g.flush();
      bytes = counted.count;
    }
    if (c.getResponseCode() != 200) {
      throw new IOException("baseline upload answered " + c.getResponseCode());
    }
    c.disconnect();
    return new long[] {lines, bytes};
  }

  /** Streams the result file and parses every line; returns {lines, bytes}. */
  private static long[] download(String url) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
    long lines = 0;
    long textChars = 0;
    long tokens = 0;
    long bytes;
    try (InputStream body = c.getInputStream(); JsonParser p = JSON.createParser(body)) {
      while (p.nextToken() == JsonToken.START_OBJECT) {
        String key = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          p.nextToken();
          if (field.equals("key")) {
            key = p.getText();
          } else if (field.equals("response")) {
            long[] read = readResponse(p);
            textChars += read[0];
            tokens += read[1];
          } else {
            p.skipChildren();
          }
        }
        if (key == null) {
          throw new IOException("baseline result line " + (lines + 1) + " has no key");
        }
        lines++;
      }
      bytes = p.currentLocation().getByteOffset();
    }
    if (textChars == 0 || tokens == 0) {
      throw new IOException("baseline results hold no text");
    }
    return new long[] {lines, bytes};
  }

  /** The first candidate's text parts and the token total: {characters, tokens}. */
  private static long[] readResponse(JsonParser p) throws IOException {
    long chars = 0;
    long tokens = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("candidates")) {
        while (p.nextToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            if (name.equals("content")) {
              chars += readContentText(p);
            } else {
              p.skipChildren();
            }
          }
        }
      } else if (field.equals("usageMetadata")) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          p.nextToken();
          if (name.equals("totalTokenCount")) {
            tokens += p.getLongValue();
          }
        }
      } else {
        p.skipChildren();
      }
    }
    return new long[] {chars, tokens};
  }

  /** {@code {"parts": [{"text"}...], ...}}: the length of the texts. */
  private static long readContentText(JsonParser p) throws IOException {
    long chars = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      if (p.nextToken() == JsonToken.START_ARRAY && name.equals("parts")) {
        while (p.nextToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String part = p.currentName();
            p.nextToken();
            if (part.equals("text")) {
              chars += p.getText().length();
            } else {
              p.skipChildren();
            }
          }
        }
      } else {
        p.skipChildren();
      }
    }
    return chars;
  }

  /**
   * The result file the service would return for {@code prompts}: one {@code {"response","key"}}
   * line per prompt, each response as the emulator writes it.
   */
  private static void writeResults(Path prompts, Path results, String model) throws IOException {
    String fileName = prompts.getFileName().toString();
    try (BufferedReader in = Files.newBufferedReader(prompts, StandardCharsets.UTF_8);
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(results), 1 << 16);
        JsonGenerator g = JSON.createGenerator(out)) {
      g.setRootValueSeparator(null);
      long n = 0;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        n++;
        String key = InputLines.lineKey(fileName, n, line);
        g.writeStartObject();
        g.writeFieldName("response");
        g.writeRawValue(EmulatorResponder.generateContentResponse(requestJson(key, line), model));
        g.writeStringField("key", key);
        g.writeEndObject();
        g.writeRaw('\n');
      }
    }
  }

  /** The request of the line {@link #writeRequestLine} writes. */
  private static String requestJson(String key, String prompt) throws IOException {
    StringWriter w = new StringWriter(prompt.length() + 96);
    try (JsonGenerator g = JSON.createGenerator(w)) {
      writeRequestLine(g, key, prompt);
    }
    String line = w.toString();
    return line.substring(line.indexOf(",\"request\":") + 11, line.length() - 2);
  }

  /** Counts what goes through. */
  private static final class CountingOutputStream extends java.io.FilterOutputStream {
    long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }
  }
}
