package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;

/**
 * Reads input files line by line and turns each non-blank line into a keyed request.
 *
 * <ul>
 *   <li>A line that parses as a JSON object with {@code "key"} and {@code "request"} members is a
 *       request in the Batch API's own input format: its key is {@code "key"}, its request {@code
 *       "request"}, sent as it is (camelCase or snake_case). A key that is not a string or a
 *       number, or a request that is not an object, ends in the failures with the reason.
 *   <li>Any other line is a plain prompt (or text to embed), keyed {@code
 *       <file name>:line-<n>-<hash>}: n is the 1-based line number in its file, hash the first 8
 *       hex digits of the SHA-256 of the line. The key is stable across runs and names where the
 *       line came from; the same file name in two directories of one glob gives duplicate keys,
 *       which end in the failures.
 *   <li>Blank lines are skipped (they still count in the line numbers).
 * </ul>
 *
 * <p>A large uncompressed file is read by several workers at once, a range of whole lines each,
 * each range knowing its first line's number ({@link FileRanges}); compressed files are read whole
 * by one worker. Either way a line gets the same key; the connector shards the requests after
 * that.
 */
final class InputLines {
  private static final JsonFactory JSON =
      JsonFactory.builder().disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  /** One digest per thread: looking the algorithm up costs more than hashing a short line. */
  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
          });

  private InputLines() {}

  /** One input line: either a prompt ({@code requestJson} null) or a whole request. */
  static final class Line {
    final String key;
    final String prompt;
    final String requestJson;

    private Line(String key, String prompt, String requestJson) {
      this.key = key;
      this.prompt = prompt;
      this.requestJson = requestJson;
    }
  }

  /** Parses line {@code lineNumber} of {@code fileName}; null for a blank line. */
  static Line parse(String fileName, long lineNumber, String line) {
    if (line.isBlank()) {
      return null;
    }
    if (line.stripLeading().startsWith("{")) {
      Line request = readRequestLine(line);
      if (request != null) {
        return request;
      }
    }
    return new Line(lineKey(fileName, lineNumber, line), line, null);
  }

  /**
   * A line that is one JSON object with {@code "key"} and {@code "request"}, else null. One
   * streaming pass: the request is the line's own text of that member, never re-serialised.
   */
  private static Line readRequestLine(String line) {
    String key = null;
    boolean hasKey = false;
    int requestStart = -1;
    int requestEnd = -1;
    try (JsonParser p = JSON.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("key")) {
          hasKey = true;
          key = keyText(p, value);
        } else if (field.equals("request")) {
          requestStart = (int) p.currentTokenLocation().getCharOffset();
          p.skipChildren();
          p.finishToken(); // a scalar's text is read lazily: its end is known once read
          requestEnd = (int) p.currentLocation().getCharOffset();
        } else {
          p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        return null; // trailing content: not one JSON object
      }
    } catch (IOException e) {
      return null;
    }
    if (!hasKey || requestStart < 0) {
      return null;
    }
    return new Line(key, null, line.substring(requestStart, requestEnd));
  }

  /** A string or number key as text; any other kind is "" (the connector rejects it with the reason). */
  private static String keyText(JsonParser p, JsonToken value) throws IOException {
    switch (value) {
      case VALUE_STRING:
      case VALUE_NUMBER_INT:
        return p.getText();
      case VALUE_NUMBER_FLOAT:
        return p.getDecimalValue().toString();
      default:
        p.skipChildren();
        return "";
    }
  }

  /** {@code <file name>:line-<n>-<first 8 hex digits of SHA-256(line)>}. */
  static String lineKey(String fileName, long lineNumber, String line) {
    byte[] digest = SHA256.get().digest(line.getBytes(StandardCharsets.UTF_8));
    // Built by hand: String.format costs more than the hash, once per input line.
    StringBuilder key = new StringBuilder(fileName.length() + 32).append(fileName).append(":line-").append(lineNumber).append('-');
    for (int i = 0; i < 4; i++) {
      key.append(HEX[(digest[i] >> 4) & 0xf]).append(HEX[digest[i] & 0xf]);
    }
    return key.toString();
  }

  /**
   * Reads every file matching {@code filepattern} (an error if none does) into elements built by
   * {@code fromPrompt} or {@code fromRequest}, each given the key and the prompt or request JSON.
   * A large uncompressed file is read by several workers at once, a range of lines each ({@link
   * FileRanges}).
   */
  static <InT> PTransform<PBegin, PCollection<InT>> read(
      String filepattern,
      SerializableBiFunction<String, String, InT> fromPrompt,
      SerializableBiFunction<String, String, InT> fromRequest,
      Coder<InT> coder) {
    return new PTransform<PBegin, PCollection<InT>>() {
      @Override
      public PCollection<InT> expand(PBegin begin) {
        return begin
            .apply("Match", FileIO.match().filepattern(filepattern))
            .apply("Split", ParDo.of(new FileRanges.SplitFn(FileRanges.RANGE_BYTES)))
            .setCoder(FileRanges.RangeCoder.INSTANCE)
            // Ranges to every worker.
            .apply("Spread", Reshuffle.viaRandomKey())
            .apply("Lines", ParDo.of(new ReadLinesFn<>(fromPrompt, fromRequest)))
            .setCoder(coder);
      }
    };
  }

  /** Streams one range's lines; never holds the file. */
  static final class ReadLinesFn<InT> extends DoFn<FileRanges.Range, InT> {
    private final SerializableBiFunction<String, String, InT> fromPrompt;
    private final SerializableBiFunction<String, String, InT> fromRequest;

    ReadLinesFn(
        SerializableBiFunction<String, String, InT> fromPrompt,
        SerializableBiFunction<String, String, InT> fromRequest) {
      this.fromPrompt = fromPrompt;
      this.fromRequest = fromRequest;
    }

    @ProcessElement
    public void process(@Element FileRanges.Range range, OutputReceiver<InT> out) throws IOException {
      String fileName = FileSystems.matchNewResource(range.file, false).getFilename();
      try (BufferedReader reader = range.open()) {
        long lineNumber = range.firstLine - 1;
        for (String text = reader.readLine(); text != null; text = reader.readLine()) {
          lineNumber++;
          if (lineNumber == 1 && text.startsWith("\uFEFF")) {
            text = text.substring(1);
          }
          Line line = parse(fileName, lineNumber, text);
          if (line != null) {
            out.output(
                line.requestJson == null
                    ? fromPrompt.apply(line.key, line.prompt)
                    : fromRequest.apply(line.key, line.requestJson));
          }
        }
      }
    }
  }
}
