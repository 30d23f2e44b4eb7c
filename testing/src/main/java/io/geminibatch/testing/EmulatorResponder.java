package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;

/**
 * The emulator's deterministic "model", public so that tests can predict every answer.
 *
 * <h2>Generate ({@code batchGenerateContent})</h2>
 *
 * <ul>
 *   <li>Answer text: {@code "echo: "} + the concatenation (no separator) of the {@code text} parts
 *       of the <b>last</b> element of the request's {@code contents}. Other part kinds are
 *       ignored. See {@link #generateText(String)}.
 *   <li>{@code promptTokenCount} = ceil(C / 4), at least 1, where C is the number of Unicode code
 *       points in all {@code text} parts of all {@code contents} and of {@code systemInstruction}
 *       ({@code system_instruction}); {@code candidatesTokenCount} = ceil(code points of the
 *       answer / 4), at least 1; {@code totalTokenCount} = their sum. See {@link
 *       #tokenCounts(String)}.
 *   <li>The response: {@code {"candidates": [{"content": {"parts": [{"text": answer}], "role":
 *       "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {...}, "modelVersion":
 *       <model id without "models/">, "responseId": responseId(answer)}}. See {@link
 *       #generateContentResponse(String, String)}.
 *   <li>{@code responseId} = the first 17 bytes of SHA-256(UTF-8 answer), base64url without
 *       padding (23 characters). See {@link #responseId(String)}.
 *   <li>A request without {@code contents} (or with an empty array) is answered with the error
 *       {@code {"code": 3, "message": "* GenerateContentRequest.contents: contents is not
 *       specified"}} (INVALID_ARGUMENT) in its result line / inline response; the job still
 *       succeeds.
 * </ul>
 *
 * <h2>Embed ({@code asyncBatchEmbedContent})</h2>
 *
 * <p>The text is the concatenation of the {@code text} parts of the request's {@code content}. The
 * vector ({@link #embedding(String, int)}) has {@code outputDimensionality} dimensions (default
 * {@value #DEFAULT_EMBEDDING_DIMENSIONS}, allowed 1..{@value #MAX_EMBEDDING_DIMENSIONS}) and unit
 * L2 norm:
 *
 * <ol>
 *   <li>{@code s} = the first 8 bytes of SHA-256(UTF-8 text), big-endian, as a 64-bit integer;
 *   <li>for i = 0..d-1: SplitMix64 step ({@code s += 0x9E3779B97F4A7C15; z = s; z = (z ^ (z >>>
 *       30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >>> 27)) * 0x94D049BB133111EB; z ^= z >>> 31}),
 *       {@code v[i] = (z >>> 11) * 2^-53 * 2 - 1} (a double in [-1, 1));
 *   <li>each {@code v[i]} is divided by the L2 norm of {@code v} (in double) and cast to float.
 * </ol>
 *
 * <p>So the vector for d dimensions is the normalised prefix of any longer one. An empty text or
 * an {@code outputDimensionality} outside 1..3072 gives a per-request error with code 3.
 */
public final class EmulatorResponder {
  /** Prefix of every generated answer. */
  public static final String ANSWER_PREFIX = "echo: ";

  public static final int DEFAULT_EMBEDDING_DIMENSIONS = 768;
  public static final int MAX_EMBEDDING_DIMENSIONS = 3072;

  /** Per-request error message for a generate request without contents (code 3). */
  public static final String MISSING_CONTENTS_MESSAGE =
      "* GenerateContentRequest.contents: contents is not specified";

  /** Per-request error message for an embed request without text (code 3). */
  public static final String MISSING_CONTENT_MESSAGE =
      "* EmbedContentRequest.content: content must have at least one non-empty text part";

  /** Message of an injected per-request error (code 13, retryable). */
  public static final String INTERNAL_ERROR_MESSAGE =
      "An internal error has occurred. Please retry or report in"
          + " https://developers.generativeai.google/guide/troubleshooting";

  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(EmulatorResponder::newSha256);

  private EmulatorResponder() {}

  /**
   * The answer text for a GenerateContentRequest given as JSON.
   *
   * @throws IllegalArgumentException if the JSON is invalid or has no {@code contents} (the
   *     message is the one of the per-request error)
   */
  public static String generateText(String requestJson) {
    return parseGenerate(requestJson).answer();
  }

  /**
   * {@code {promptTokenCount, candidatesTokenCount, totalTokenCount}} for a GenerateContentRequest
   * given as JSON.
   *
   * @throws IllegalArgumentException as {@link #generateText(String)}
   */
  public static long[] tokenCounts(String requestJson) {
    Prompt p = parseGenerate(requestJson);
    p.answer(); // rejects a request without contents
    long prompt = tokens(p.codePoints);
    long candidates = tokens(p.answerCodePoints);
    return new long[] {prompt, candidates, prompt + candidates};
  }

  /** The {@code responseId} the emulator gives the answer {@code answerText}. */
  public static String responseId(String answerText) {
    return responseIdOf(answerText.getBytes(StandardCharsets.UTF_8));
  }

  /** Writes the 23 characters of the responseId of the prompt's answer into {@code out}. */
  static void responseId(Prompt prompt, byte[] out, int at) {
    MessageDigest d = SHA256.get();
    byte[] h;
    if (prompt.answerEscaped) {
      h = d.digest(prompt.answerUtf8());
    } else {
      d.update(prompt.answer, 0, prompt.answerLength);
      h = d.digest();
    }
    // base64url without padding of h[0..17): five groups of three bytes, then two bytes
    int o = at;
    for (int i = 0; i < 15; i += 3) {
      int v = (h[i] & 0xFF) << 16 | (h[i + 1] & 0xFF) << 8 | (h[i + 2] & 0xFF);
      out[o++] = BASE64URL[v >>> 18];
      out[o++] = BASE64URL[(v >>> 12) & 63];
      out[o++] = BASE64URL[(v >>> 6) & 63];
      out[o++] = BASE64URL[v & 63];
    }
    int v = (h[15] & 0xFF) << 8 | (h[16] & 0xFF);
    out[o++] = BASE64URL[v >>> 10];
    out[o++] = BASE64URL[(v >>> 4) & 63];
    out[o] = BASE64URL[(v << 2) & 63];
  }

  private static final byte[] BASE64URL =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          .getBytes(StandardCharsets.US_ASCII);

  private static String responseIdOf(byte[] answerUtf8) {
    byte[] h = SHA256.get().digest(answerUtf8);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(h, 17));
  }

  /**
   * The GenerateContentResponse JSON the emulator writes for a request, byte for byte as in a
   * result line's {@code response} (model: {@code "models/gemini-2.5-flash"} or {@code
   * "gemini-2.5-flash"}).
   *
   * @throws IllegalArgumentException as {@link #generateText(String)}
   */
  public static String generateContentResponse(String requestJson, String model) {
    Prompt p = parseGenerate(requestJson);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      writeGenerateResponse(g, p, modelId(model));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The embedding of {@code text} with the default {@value #DEFAULT_EMBEDDING_DIMENSIONS} dims. */
  public static float[] embedding(String text) {
    return embedding(text, DEFAULT_EMBEDDING_DIMENSIONS);
  }

  /** The unit vector the emulator returns for {@code text} (see the class Javadoc). */
  public static float[] embedding(String text, int dimensions) {
    if (dimensions < 1 || dimensions > MAX_EMBEDDING_DIMENSIONS) {
      throw new IllegalArgumentException(
          "dimensions must be in [1, " + MAX_EMBEDDING_DIMENSIONS + "], got " + dimensions);
    }
    byte[] h = SHA256.get().digest(text.getBytes(StandardCharsets.UTF_8));
    long s = 0;
    for (int i = 0; i < 8; i++) {
      s = (s << 8) | (h[i] & 0xFF);
    }
    double[] v = new double[dimensions];
    double sum = 0;
    for (int i = 0; i < dimensions; i++) {
      s += 0x9E3779B97F4A7C15L;
      long z = s;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z ^= z >>> 31;
      v[i] = (z >>> 11) * 0x1.0p-53 * 2 - 1;
      sum += v[i] * v[i];
    }
    double norm = Math.sqrt(sum);
    float[] out = new float[dimensions];
    for (int i = 0; i < dimensions; i++) {
      out[i] = (float) (v[i] / norm);
    }
    return out;
  }

  /**
   * The embedding for an EmbedContentRequest given as JSON ({@code content}, optional {@code
   * outputDimensionality}).
   *
   * @throws IllegalArgumentException with the per-request error message when the request has no
   *     text or a dimensionality outside 1..3072
   */
  public static float[] embedContent(String requestJson) {
    EmbedInput in = parseEmbed(requestJson);
    String error = in.error();
    if (error != null) {
      throw new IllegalArgumentException(error);
    }
    return embedding(in.text.toString(), in.dimensions());
  }

  // ---------------------------------------------------------------------------------------------
  // Streaming internals used by the job runner. Prompts are read from UTF-8 bytes and the answer
  // is built from the request's raw (still JSON-escaped) text bytes: nothing is decoded into
  // Strings and re-encoded, which is what makes a 1 GB file quick to answer.

  private static final byte[] PREFIX_BYTES = ANSWER_PREFIX.getBytes(StandardCharsets.UTF_8);

  /**
   * What a GenerateContentRequest contributes to the answer. Reusable: {@link #reset()} before
   * each request.
   */
  static final class Prompt {
    boolean hasContents;
    /** Code points of all text parts of contents and systemInstruction. */
    long codePoints;
    /** The answer as the bytes of a JSON string body (escapes kept), and its code points. */
    byte[] answer = new byte[256];
    int answerLength;
    boolean answerEscaped;
    long answerCodePoints;
    // The content being read; it becomes the answer when it ends, so the last one wins.
    private byte[] current = new byte[256];
    private int currentLength;
    private boolean currentEscaped;
    private long currentCodePoints;

    void reset() {
      hasContents = false;
      codePoints = 0;
      answerLength = 0;
      answerEscaped = false;
      answerCodePoints = 0;
    }

    void beginContent() {
      System.arraycopy(PREFIX_BYTES, 0, current, 0, PREFIX_BYTES.length);
      currentLength = PREFIX_BYTES.length;
      currentEscaped = false;
      currentCodePoints = PREFIX_BYTES.length;
    }

    void appendText(byte[] b, int from, int to, long cps, boolean escaped) {
      int n = to - from;
      if (currentLength + n > current.length) {
        current = Arrays.copyOf(current, Math.max(current.length * 2, currentLength + n));
      }
      System.arraycopy(b, from, current, currentLength, n);
      currentLength += n;
      currentEscaped |= escaped;
      currentCodePoints += cps;
    }

    void endContent() {
      byte[] t = answer;
      answer = current;
      current = t;
      answerLength = currentLength;
      answerEscaped = currentEscaped;
      answerCodePoints = currentCodePoints;
    }

    /** The decoded answer text. */
    String answer() {
      if (!hasContents) {
        throw new IllegalArgumentException(MISSING_CONTENTS_MESSAGE);
      }
      if (!answerEscaped) {
        return new String(answer, 0, answerLength, StandardCharsets.UTF_8);
      }
      return unescape(answer, 0, answerLength);
    }

    /** UTF-8 of the decoded answer. */
    byte[] answerUtf8() {
      return answerEscaped
          ? answer().getBytes(StandardCharsets.UTF_8)
          : Arrays.copyOf(answer, answerLength);
    }
  }

  /** What an EmbedContentRequest contributes to the vector. */
  static final class EmbedInput {
    final StringBuilder text = new StringBuilder();
    /** Null when absent; Long.MIN_VALUE when not an integer. */
    Long outputDimensionality;

    int dimensions() {
      return outputDimensionality == null
          ? DEFAULT_EMBEDDING_DIMENSIONS
          : outputDimensionality.intValue();
    }

    /** The per-request error (code 3) message, or null when the request is valid. */
    String error() {
      if (outputDimensionality != null
          && (outputDimensionality < 1 || outputDimensionality > MAX_EMBEDDING_DIMENSIONS)) {
        return "* EmbedContentRequest.output_dimensionality: must be between 1 and "
            + MAX_EMBEDDING_DIMENSIONS
            + ", got "
            + (outputDimensionality == Long.MIN_VALUE ? "a non-integer" : outputDimensionality);
      }
      if (text.length() == 0) {
        return MISSING_CONTENT_MESSAGE;
      }
      return null;
    }
  }

  static String modelId(String model) {
    return model.startsWith("models/") ? model.substring("models/".length()) : model;
  }

  static long tokens(long codePoints) {
    return Math.max(1, (codePoints + 3) / 4);
  }

  private static Prompt parseGenerate(String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    try (JsonParser p = Json.FACTORY.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("a GenerateContentRequest must be a JSON object");
      }
      Prompt prompt = new Prompt();
      readGenerateRequest(p, bytes, 0, bytes.length, prompt);
      return prompt;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static EmbedInput parseEmbed(String json) {
    try (JsonParser p = Json.FACTORY.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("an EmbedContentRequest must be a JSON object");
      }
      return readEmbedRequest(p);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads a GenerateContentRequest object into {@code prompt} (reset first). The parser reads
   * {@code source[sourceOffset, sourceEnd)} and is on the request's START_OBJECT; it is left on
   * its END_OBJECT.
   */
  static void readGenerateRequest(
      JsonParser p, byte[] source, int sourceOffset, int sourceEnd, Prompt prompt)
      throws IOException {
    prompt.reset();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = Json.camel(p.currentName());
      JsonToken t = p.nextToken();
      if (name.equals("contents") && t == JsonToken.START_ARRAY) {
        while (p.nextToken() != JsonToken.END_ARRAY) {
          if (p.currentToken() == JsonToken.START_OBJECT) {
            prompt.hasContents = true;
            prompt.beginContent();
            readContentText(p, source, sourceOffset, sourceEnd, prompt, true);
            prompt.endContent();
          } else {
            p.skipChildren();
          }
        }
      } else if (name.equals("systemInstruction") && t == JsonToken.START_OBJECT) {
        readContentText(p, source, sourceOffset, sourceEnd, prompt, false);
      } else {
        p.skipChildren();
      }
    }
  }

  /** Reads an EmbedContentRequest object; the parser is on its START_OBJECT, left on its END. */
  static EmbedInput readEmbedRequest(JsonParser p) throws IOException {
    EmbedInput in = new EmbedInput();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = Json.camel(p.currentName());
      JsonToken t = p.nextToken();
      if (name.equals("content") && t == JsonToken.START_OBJECT) {
        readEmbedText(p, in.text);
      } else if (name.equals("outputDimensionality") && t != JsonToken.VALUE_NULL) {
        in.outputDimensionality = integer(p);
      } else {
        p.skipChildren();
      }
    }
    return in;
  }

  private static Long integer(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    try {
      if (t == JsonToken.VALUE_NUMBER_INT) {
        return p.getLongValue();
      }
      if (t == JsonToken.VALUE_STRING) {
        return Long.parseLong(p.getText().trim());
      }
    } catch (NumberFormatException | IOException e) {
      // fall through
    }
    p.skipChildren();
    return Long.MIN_VALUE;
  }

  /**
   * Walks a Content object's parts; every text part counts towards the prompt, and is appended
   * to the current content when {@code keep}.
   */
  private static void readContentText(
      JsonParser p, byte[] source, int sourceOffset, int sourceEnd, Prompt prompt, boolean keep)
      throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if (!name.equals("parts") || t != JsonToken.START_ARRAY) {
        p.skipChildren();
        continue;
      }
      while (p.nextToken() != JsonToken.END_ARRAY) {
        if (p.currentToken() != JsonToken.START_OBJECT) {
          p.skipChildren();
          continue;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken v = p.nextToken();
          if (field.equals("text") && v == JsonToken.VALUE_STRING) {
            readText(p, source, sourceOffset, sourceEnd, prompt, keep);
          } else {
            p.skipChildren();
          }
        }
      }
    }
  }

  /**
   * Takes the raw bytes of the current string token from the source (the parser then skips it
   * without decoding), or re-escapes its text when the source bytes are not at hand.
   */
  private static void readText(
      JsonParser p, byte[] source, int sourceOffset, int sourceEnd, Prompt prompt, boolean keep)
      throws IOException {
    long offset = p.currentTokenLocation().getByteOffset();
    int quote = (int) (sourceOffset + offset);
    // The string's body in the source: up to the first quote that is not escaped.
    int i = quote + 1;
    boolean escaped = false;
    boolean inSource = source != null && offset >= 0 && quote < sourceEnd && source[quote] == '"';
    while (inSource && i < sourceEnd && source[i] != '"') {
      // eight bytes at a time up to the next quote or backslash
      if (i + 8 <= sourceEnd) {
        long w = Swar.word(source, i);
        long m = Swar.eq(w, '"') | Swar.eq(w, '\\');
        if (m == 0) {
          i += 8;
          continue;
        }
        i += Swar.firstByte(m);
        if (source[i] == '"') {
          break;
        }
      }
      if (source[i] == '\\') {
        escaped = true;
        i++;
      }
      i++;
    }
    if (inSource && i < sourceEnd) {
      int from = quote + 1;
      long cps = codePoints(source, from, i);
      prompt.codePoints += cps;
      if (keep) {
        prompt.appendText(source, from, i, cps, escaped);
      }
      return;
    }
    String text = p.getText();
    long cps = text.codePointCount(0, text.length());
    prompt.codePoints += cps;
    if (keep) {
      byte[] quoted = JsonStringEncoder.getInstance().quoteAsUTF8(text);
      prompt.appendText(quoted, 0, quoted.length, cps, true);
    }
  }

  /** Code points of the body of a JSON string given as UTF-8 bytes, escapes included. */
  static long codePoints(byte[] b, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      // ASCII without escapes, eight bytes at a time: a code point each
      while (i + 8 <= to) {
        long w = Swar.word(b, i);
        if (((w & Swar.HIGH) | Swar.eq(w, '\\')) != 0) {
          break;
        }
        n += 8;
        i += 8;
      }
      if (i == to) {
        break;
      }
      byte c = b[i];
      if (c == '\\') {
        n++;
        if (i + 5 < to && b[i + 1] == 'u') {
          int unit = hex4(b, i + 2);
          i += 5;
          // a surrogate pair written as two escapes is one code point
          if (unit >= 0xD800 && unit <= 0xDBFF && i + 6 < to && b[i + 1] == '\\' && b[i + 2] == 'u') {
            int low = hex4(b, i + 3);
            if (low >= 0xDC00 && low <= 0xDFFF) {
              i += 6;
            }
          }
        } else {
          i++;
        }
      } else if ((c & 0xC0) != 0x80) {
        n++;
      }
    }
    return n;
  }

  static int hex4(byte[] b, int at) {
    int v = 0;
    for (int i = at; i < at + 4; i++) {
      int d = Character.digit(b[i], 16);
      if (d < 0) {
        return -1;
      }
      v = v * 16 + d;
    }
    return v;
  }

  private static String unescape(byte[] body, int from, int to) {
    byte[] quoted = new byte[to - from + 2];
    quoted[0] = '"';
    System.arraycopy(body, from, quoted, 1, to - from);
    quoted[quoted.length - 1] = '"';
    try (JsonParser p = Json.FACTORY.createParser(quoted)) {
      p.nextToken();
      return p.getText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Appends the text parts of a Content object (for embeddings). */
  private static void readEmbedText(JsonParser p, StringBuilder out) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if (!name.equals("parts") || t != JsonToken.START_ARRAY) {
        p.skipChildren();
        continue;
      }
      while (p.nextToken() != JsonToken.END_ARRAY) {
        if (p.currentToken() != JsonToken.START_OBJECT) {
          p.skipChildren();
          continue;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken v = p.nextToken();
          if (field.equals("text") && v == JsonToken.VALUE_STRING) {
            out.append(p.getText());
          } else {
            p.skipChildren();
          }
        }
      }
    }
  }

  /** Writes the GenerateContentResponse object for a valid prompt. */
  static void writeGenerateResponse(JsonGenerator g, Prompt prompt, String modelId)
      throws IOException {
    if (!prompt.hasContents) {
      throw new IllegalArgumentException(MISSING_CONTENTS_MESSAGE);
    }
    long promptTokens = tokens(prompt.codePoints);
    long candidateTokens = tokens(prompt.answerCodePoints);
    g.writeStartObject();
    g.writeArrayFieldStart("candidates");
    g.writeStartObject();
    g.writeObjectFieldStart("content");
    g.writeArrayFieldStart("parts");
    g.writeStartObject();
    g.writeFieldName("text");
    g.writeRawUTF8String(prompt.answer, 0, prompt.answerLength);
    g.writeEndObject();
    g.writeEndArray();
    g.writeStringField("role", "model");
    g.writeEndObject();
    g.writeStringField("finishReason", "STOP");
    g.writeNumberField("index", 0);
    g.writeEndObject();
    g.writeEndArray();
    g.writeObjectFieldStart("usageMetadata");
    g.writeNumberField("promptTokenCount", promptTokens);
    g.writeNumberField("candidatesTokenCount", candidateTokens);
    g.writeNumberField("totalTokenCount", promptTokens + candidateTokens);
    g.writeEndObject();
    g.writeStringField("modelVersion", modelId);
    g.writeStringField("responseId", responseIdOf(prompt.answerUtf8()));
    g.writeEndObject();
  }

  /** Writes {@code {"embedding": {"values": [...]}}} for a valid embed input. */
  static void writeEmbedResponse(JsonGenerator g, EmbedInput in) throws IOException {
    float[] v = embedding(in.text.toString(), in.dimensions());
    g.writeStartObject();
    g.writeObjectFieldStart("embedding");
    g.writeArrayFieldStart("values");
    for (float f : v) {
      g.writeNumber(f);
    }
    g.writeEndArray();
    g.writeEndObject();
    g.writeEndObject();
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
