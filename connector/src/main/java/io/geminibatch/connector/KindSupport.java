package io.geminibatch.connector;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.geminibatch.connector.client.BatchKind;
import java.io.IOException;
import java.io.Serializable;

/**
 * What differs between {@code generate()} and {@code embed()}: how a request is built from plain
 * text, what makes a request JSON valid, and how one response is read. Every stage of the
 * pipeline is shared and takes one of these.
 *
 * @param <OutT> the response type emitted downstream
 */
abstract class KindSupport<OutT> implements Serializable {
  private static final long serialVersionUID = 1L;

  abstract BatchKind kind();

  /** The coder of the output elements. */
  abstract org.apache.beam.sdk.coders.Coder<OutT> outputCoder();

  /**
   * The request JSON (UTF-8) for a plain text input, with the transform's defaults applied: built
   * as bytes, since bytes are what is staged.
   */
  abstract byte[] requestFromText(String text);

  /**
   * Checks a request given as JSON and returns what will be sent: the same string, or with the
   * transform's defaults added where the request has none.
   */
  abstract String validateAndComplete(String requestJson) throws InvalidRequestException;

  /**
   * Reads one response object; the parser stands on its START_OBJECT and must be left on the
   * matching END_OBJECT. Returns what {@link #toOutput} needs.
   */
  abstract Object readResponse(JsonParser p) throws IOException;

  /**
   * What {@link #readResponse} gives for a response whose {@code usageMetadata} holds these
   * counts (0 when absent), when that is all it reads; null when it reads more ({@link
   * FastResultLine} then leaves the kind's lines to the general reader).
   */
  Object fromUsage(long promptTokens, long candidatesTokens, long totalTokens) {
    return null;
  }

  /**
   * Builds the output element. {@code raw[start, end)} are the response's own bytes, for kinds
   * that keep the JSON.
   */
  abstract OutT toOutput(
      String key, Object partial, byte[] raw, int start, int end, String jobName);

  /** Checks one top-level field of a request; the parser stands on its value. */
  @FunctionalInterface
  interface FieldCheck {
    void check(String field, JsonToken value, JsonParser p) throws IOException, InvalidRequestException;
  }

  /**
   * Walks a request given as JSON with a streaming parser (no tree): it must be one object;
   * {@code check} sees every top-level field and must consume its value. Returns whether {@code
   * required} was among them.
   */
  static boolean walkRequest(String requestJson, String typeName, String required, FieldCheck check)
      throws InvalidRequestException {
    try (JsonParser p = Json.FACTORY.createParser(requestJson)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new InvalidRequestException(
            "request must be a JSON object (" + typeName + "), got " + abbreviate(requestJson));
      }
      boolean found = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        found |= field.equals(required);
        check.check(field, p.nextToken(), p);
      }
      if (p.nextToken() != null) {
        throw new InvalidRequestException("request has trailing content after its JSON object");
      }
      return found;
    } catch (IOException e) {
      throw new InvalidRequestException("request is not valid JSON: " + Json.describe(e));
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 60 ? "'" + s + "'" : "'" + s.substring(0, 57) + "...'";
  }

  /**
   * Adds one output's token counts to {@code tokens} ({prompt, candidates}); the caller updates
   * the metrics once per block of outputs (a metric update costs a thread-local look-up).
   */
  abstract void count(OutT output, long[] tokens);

  /**
   * One output as a line of a result file (see {@code withResultFiles}): {@code {"key": ...,
   * FIELD: ...}} and a newline, the value as the service sent it. The simple twin of {@link
   * #writeResultLine}, which writes the files.
   */
  abstract byte[] resultLine(OutT output);

  /**
   * Writes the result line of the response at {@code raw[start, end)} to {@code out} and adds its
   * token counts to {@code tokens}, from the line's parts as they stand: no output element, no
   * line array (two copies of every response). What it writes is {@code
   * resultLine(toOutput(...))}, its test oracle, and what it counts is {@code count}'s.
   */
  abstract void writeResultLine(String key, Object partial, byte[] raw, int start, int end, java.io.OutputStream out, long[] tokens)
      throws IOException;

  /** {@link #keyedLine} written to {@code out}, the value a slice. */
  static void writeKeyedLine(java.io.OutputStream out, String key, byte[] field, byte[] value, int from, int to)
      throws IOException {
    out.write(KEY);
    out.write(Json.quoteUtf8(key));
    out.write(field);
    out.write(value, from, to - from);
    out.write(END);
  }

  private static final byte[] KEY = Json.utf8("{\"key\":");
  private static final byte[] END = Json.utf8("}\n");

  /** {@code {"key":KEY,FIELD:VALUE}\n} in one array; {@code field} is {@code ,"name":}. */
  static byte[] keyedLine(String key, byte[] field, byte[] value) {
    byte[] quoted = Json.quoteUtf8(key);
    byte[] line = new byte[KEY.length + quoted.length + field.length + value.length + END.length];
    int at = 0;
    for (byte[] part : new byte[][] {KEY, quoted, field, value, END}) {
      System.arraycopy(part, 0, line, at, part.length);
      at += part.length;
    }
    return line;
  }
}
