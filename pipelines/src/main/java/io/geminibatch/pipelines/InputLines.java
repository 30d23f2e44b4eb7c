package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
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
 * <p>Files are read whole by one worker each ({@link FileIO}, compressed files included), which
 * is what numbering lines takes; the connector shards the requests after that.
 */
final class InputLines {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

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
      JsonNode node = readJson(line);
      if (node != null && node.isObject() && node.has("key") && node.has("request")) {
        JsonNode key = node.get("key");
        String keyText = key.isTextual() || key.isNumber() ? key.asText() : "";
        return new Line(keyText, null, node.get("request").toString());
      }
    }
    return new Line(lineKey(fileName, lineNumber, line), line, null);
  }

  private static JsonNode readJson(String line) {
    try {
      return JSON.readTree(line);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  /** {@code <file name>:line-<n>-<first 8 hex digits of SHA-256(line)>}. */
  static String lineKey(String fileName, long lineNumber, String line) {
    byte[] digest;
    try {
      digest = MessageDigest.getInstance("SHA-256").digest(line.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return String.format(
        "%s:line-%d-%02x%02x%02x%02x", fileName, lineNumber, digest[0], digest[1], digest[2], digest[3]);
  }

  /**
   * Reads every file matching {@code filepattern} (an error if none does) into elements built by
   * {@code fromPrompt} or {@code fromRequest}, each given the key and the prompt or request JSON.
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
            .apply("Open", FileIO.readMatches())
            .apply("Lines", ParDo.of(new ReadLinesFn<>(fromPrompt, fromRequest)))
            .setCoder(coder);
      }
    };
  }

  /** Streams one file's lines; never holds the file. */
  static final class ReadLinesFn<InT> extends DoFn<FileIO.ReadableFile, InT> {
    private final SerializableBiFunction<String, String, InT> fromPrompt;
    private final SerializableBiFunction<String, String, InT> fromRequest;

    ReadLinesFn(
        SerializableBiFunction<String, String, InT> fromPrompt,
        SerializableBiFunction<String, String, InT> fromRequest) {
      this.fromPrompt = fromPrompt;
      this.fromRequest = fromRequest;
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, OutputReceiver<InT> out) throws IOException {
      String fileName = file.getMetadata().resourceId().getFilename();
      try (BufferedReader reader =
          new BufferedReader(new InputStreamReader(Channels.newInputStream(file.open()), StandardCharsets.UTF_8))) {
        long lineNumber = 0;
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
