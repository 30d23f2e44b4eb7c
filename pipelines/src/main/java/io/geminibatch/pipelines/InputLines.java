package io.geminibatch.pipelines;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.SerializableBiFunction;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Reads input files line by line and turns each non-blank line into a keyed request, or, for a
 * request line that cannot be sent, into a failure line. {@code --inputFormat} says which lines
 * are request lines ({@link Format}):
 *
 * <ul>
 *   <li>A request line is one JSON object in the Batch API's own input format: its request is
 *       {@code "request"}, sent as it is (camelCase or snake_case), its key {@code "key"}. A key
 *       that is not a string or a number, or a request that is not an object, ends in the
 *       failures with the connector's reason. A request line without {@code "key"} gets the line
 *       key below. A request line that does not parse, or has no {@code "request"}, is never sent:
 *       it is a failure at stage {@code VALIDATE}, code 3, whose message names the file, the line
 *       number and the parser's message.
 *   <li>A prompt (or text to embed) is the whole line, keyed {@code <file name>:line-<n>-<hash>}:
 *       n is the 1-based line number in its file, hash the first 8 hex digits of the SHA-256 of
 *       the line. The key is stable across runs and names where the line came from; the same
 *       file name in two directories of one glob gives duplicate keys, which end in the failures.
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
  /** google.rpc.Code INVALID_ARGUMENT, as the connector gives its own validation failures. */
  static final int INVALID_ARGUMENT = 3;
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

  /** Which lines are request lines ({@code --inputFormat}). */
  enum Format {
    /** A line whose first non-blank character is '{' is a request line, any other a prompt. */
    AUTO,
    /** Every line is a prompt, even one that looks like JSON. */
    TEXT,
    /** Every line is a request line. */
    JSONL;

    /** {@code auto}, {@code text} or {@code jsonl} (any case); a usage error otherwise. */
    static Format parse(String value) throws UsageException {
      if (value != null) {
        for (Format f : values()) {
          if (f.name().equalsIgnoreCase(value.trim())) {
            return f;
          }
        }
      }
      throw new UsageException("--inputFormat: expected auto, text or jsonl, got '" + value + "'");
    }
  }

  /**
   * One input line: a prompt ({@code requestJson} and {@code error} null), a whole request, or a
   * request line that cannot be sent ({@code error}, the reason).
   */
  static final class Line {
    final String key;
    final String prompt;
    final String requestJson;
    final String error;

    private Line(String key, String prompt, String requestJson, String error) {
      this.key = key;
      this.prompt = prompt;
      this.requestJson = requestJson;
      this.error = error;
    }
  }

  /** Parses line {@code lineNumber} of {@code fileName} as {@link Format#AUTO}; null for a blank line. */
  static Line parse(String fileName, long lineNumber, String line) {
    return parse(Format.AUTO, fileName, lineNumber, line);
  }

  /** Parses line {@code lineNumber} of {@code fileName}; null for a blank line. */
  static Line parse(Format format, String fileName, long lineNumber, String line) {
    return parse(format, fileName, lineNumber, line, null);
  }

  /**
   * As {@link #parse(Format, String, long, String)}; {@code utf8}, when not null, holds the line's
   * UTF-8 bytes as its current line, which the line key then hashes instead of encoding the text
   * again.
   */
  static Line parse(Format format, String fileName, long lineNumber, String line, Utf8Lines utf8) {
    if (line.isBlank()) {
      return null;
    }
    if (!isRequestLine(format, line)) {
      String key =
          utf8 == null
              ? lineKey(fileName, lineNumber, line)
              : lineKey(fileName, lineNumber, utf8.buffer(), utf8.start(), utf8.length());
      return new Line(key, line, null, null);
    }
    return readRequestLine(fileName, lineNumber, line);
  }

  /**
   * A request line: one JSON object with a {@code "request"} and, optionally, a {@code "key"}. One
   * streaming pass: the request is the line's own text of that member, never re-serialised.
   */
  private static Line readRequestLine(String fileName, long lineNumber, String line) {
    String key = null;
    boolean hasKey = false;
    int requestStart = -1;
    int requestEnd = -1;
    String problem = null;
    try (JsonParser p = JSON.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        problem = "not a JSON object";
      } else {
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
        JsonToken after = p.nextToken();
        if (after != null) {
          problem = "unexpected " + after.asString() + " after the JSON object (column " + p.currentTokenLocation().getColumnNr() + ")";
        } else if (requestStart < 0) {
          problem = "no \"request\" member";
        }
      }
    } catch (JsonProcessingException e) {
      problem = "invalid JSON: " + e.getOriginalMessage() + " (column " + e.getLocation().getColumnNr() + ")";
    } catch (IOException e) {
      problem = "invalid JSON: " + Errors.describe(e);
    }
    String lineKey = hasKey ? key : lineKey(fileName, lineNumber, line);
    if (problem != null) {
      return new Line(
          lineKey, null, null,
          fileName + " line " + lineNumber + ": not a request line ({\"key\": ..., \"request\": {...}}): " + problem);
    }
    return new Line(lineKey, null, line.substring(requestStart, requestEnd), null);
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
    byte[] utf8 = line.getBytes(StandardCharsets.UTF_8);
    return lineKey(fileName, lineNumber, utf8, 0, utf8.length);
  }

  /** {@link #lineKey(String, long, String)} of the line whose UTF-8 bytes are {@code utf8[off, off + len)}. */
  static String lineKey(String fileName, long lineNumber, byte[] utf8, int off, int len) {
    MessageDigest sha = SHA256.get();
    sha.update(utf8, off, len);
    byte[] digest = sha.digest();
    // Built by hand: String.format costs more than the hash, once per input line.
    StringBuilder key = new StringBuilder(fileName.length() + 32).append(fileName).append(":line-").append(lineNumber).append('-');
    for (int i = 0; i < 4; i++) {
      key.append(HEX[(digest[i] >> 4) & 0xf]).append(HEX[digest[i] & 0xf]);
    }
    return key.toString();
  }

  /**
   * Reads every file matching {@code filepattern} (an error if none does) into elements built by
   * {@code fromPrompt} or {@code fromRequest}, each given the key and the prompt or request JSON
   * ({@link Read#requests}), and the failure lines of request lines that cannot be sent ({@link
   * #INVALID}). A large uncompressed file is read by several workers at once, a range of lines
   * each ({@link FileRanges}).
   */
  static <InT> Read<InT> read(
      String filepattern,
      Format format,
      SerializableBiFunction<String, String, InT> fromPrompt,
      SerializableBiFunction<String, String, InT> fromRequest,
      Coder<InT> coder) {
    return new Read<>(filepattern, format, fromPrompt, fromRequest, coder);
  }

  /** The failure lines ({@link JsonLines#failure} format) of request lines that cannot be sent. */
  static final TupleTag<byte[]> INVALID = new TupleTag<byte[]>() {};

  static final class Read<InT> extends PTransform<PBegin, PCollectionTuple> {
    /** The requests and prompts, keyed. */
    final TupleTag<InT> requests = new TupleTag<InT>() {};

    private final String filepattern;
    private final Format format;
    private final SerializableBiFunction<String, String, InT> fromPrompt;
    private final SerializableBiFunction<String, String, InT> fromRequest;
    private final Coder<InT> coder;
    private long rangeBytes;

    private Read(
        String filepattern,
        Format format,
        SerializableBiFunction<String, String, InT> fromPrompt,
        SerializableBiFunction<String, String, InT> fromRequest,
        Coder<InT> coder) {
      this.filepattern = filepattern;
      this.format = format;
      this.fromPrompt = fromPrompt;
      this.fromRequest = fromRequest;
      this.coder = coder;
    }

    @Override
    public PCollectionTuple expand(PBegin begin) {
      // Two steps over the same ranges, not one step with two outputs: a runner that does not
      // fuse a step of several outputs with the next (Flink's batch mode) would otherwise move
      // every request through an exchange to the next step, and once more to the failures.
      // Alone, the step of requests is fused with the connector's first step; the failures'
      // step reads the ranges again, parsing only the lines that could fail. Each reads its own
      // source of the ranges, so that each is fused with it; the files are scanned for their
      // split points once (FileRanges.Source).
      // Ranges the requests' step found clean are skipped by the failures' step (CleanRanges).
      String run = java.util.UUID.randomUUID().toString();
      PCollection<InT> requests =
          begin
              .apply("Ranges", org.apache.beam.sdk.io.Read.from(new FileRanges.Source(filepattern, rangeBytes)))
              .apply("Lines", ParDo.of(new ReadLinesFn<>(format, fromPrompt, fromRequest, run)))
              .setCoder(coder);
      PCollection<byte[]> invalid =
          format == Format.TEXT
              // No line of a text input can fail to parse: nothing to read again.
              ? begin.apply("InvalidLines", Create.empty(ByteArrayCoder.of()))
              : begin
                  .apply("RangesAgain", org.apache.beam.sdk.io.Read.from(new FileRanges.Source(filepattern, rangeBytes)))
                  .apply("InvalidLines", ParDo.of(new InvalidLinesFn(format, run)))
                  .setCoder(ByteArrayCoder.of());
      return PCollectionTuple.of(this.requests, requests).and(INVALID, invalid);
    }

    /** Ranges of {@code bytes} instead of the size the runner's splits call for (tests). */
    Read<InT> withRangeBytes(long bytes) {
      Read<InT> copy = new Read<>(filepattern, format, fromPrompt, fromRequest, coder);
      copy.rangeBytes = bytes;
      return copy;
    }
  }

  /** Receives one range's lines, numbered as in their file. */
  interface LineVisitor {
    /**
     * {@code utf8}: the reader, whose current line's bytes are the UTF-8 encoding of {@code text}
     * (an ASCII line); null when they may not be (a BOM dropped, other characters, malformed
     * bytes), so that whoever needs the bytes encodes the text.
     */
    void line(long lineNumber, String text, Utf8Lines utf8) throws IOException;
  }

  /** Streams one range's lines (a BOM before the first line dropped); never holds the file. */
  static void forEachLine(FileRanges.Range range, LineVisitor visitor) throws IOException {
    try (Utf8Lines lines = range.open()) {
      long lineNumber = range.firstLine - 1;
      while (lines.next()) {
        lineNumber++;
        visitor.line(lineNumber, text(lines, lineNumber), lines.isAscii() ? lines : null);
      }
    }
  }

  private static String text(Utf8Lines lines, long lineNumber) {
    String text = lines.text();
    return lineNumber == 1 && text.startsWith("\uFEFF") ? text.substring(1) : text;
  }

  /**
   * Whether the current line may be a request line, from its bytes: false for a line whose first
   * character that is not whitespace is ASCII and not '{' (or that is blank and ASCII), which
   * {@link #isRequestLine} would say no to without decoding it; true when it must be decoded to
   * tell.
   */
  static boolean mayBeRequestLine(Format format, Utf8Lines lines) {
    byte[] b = lines.buffer();
    for (int i = lines.start(), end = lines.start() + lines.length(); i < end; i++) {
      if (b[i] < 0) {
        return true; // not ASCII: decode to tell (Unicode whitespace, a BOM)
      }
      if (!Character.isWhitespace(b[i])) {
        return format == Format.JSONL || b[i] == '{';
      }
    }
    return false; // blank
  }

  /** Whether a non-blank line is a request line, one that may fail to parse. */
  static boolean isRequestLine(Format format, String line) {
    return format == Format.JSONL || (format == Format.AUTO && line.stripLeading().startsWith("{"));
  }

  static String fileName(FileRanges.Range range) {
    return FileSystems.matchNewResource(range.file, false).getFilename();
  }

  /**
   * Ranges in which the requests' step found no line that cannot be sent, in this JVM, by run: the
   * failures' step skips them instead of reading them again when it runs in the same JVM (the
   * embedded cluster, the Direct runner). Elsewhere, or when the requests' step has not finished
   * a range yet, the failures' step reads the range as before: an entry only ever saves a read.
   * An entry is taken by the one read it saves; {@value #MAX} at most are kept.
   */
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(InputLines.class);

  static final class CleanRanges {
    static final int MAX = 100_000;
    private static final Set<String> CLEAN = ConcurrentHashMap.newKeySet();

    private CleanRanges() {}

    private static String id(String run, FileRanges.Range range) {
      return run + "|" + range.start + "|" + range.end + "|" + range.firstLine + "|" + range.file;
    }

    static void add(String run, FileRanges.Range range) {
      if (CLEAN.size() < MAX) {
        CLEAN.add(id(run, range));
      }
    }

    /** Whether the range was found clean (and forgets it). */
    static boolean take(String run, FileRanges.Range range) {
      return CLEAN.remove(id(run, range));
    }
  }

  /** The requests of one range's lines; lines that cannot be sent are {@link InvalidLinesFn}'s. */
  static final class ReadLinesFn<InT> extends DoFn<FileRanges.Range, InT> {
    private final Format format;
    private final SerializableBiFunction<String, String, InT> fromPrompt;
    private final SerializableBiFunction<String, String, InT> fromRequest;
    /** The read this step belongs to (CleanRanges). */
    private final String run;

    ReadLinesFn(
        Format format,
        SerializableBiFunction<String, String, InT> fromPrompt,
        SerializableBiFunction<String, String, InT> fromRequest,
        String run) {
      this.format = format;
      this.fromPrompt = fromPrompt;
      this.fromRequest = fromRequest;
      this.run = run;
    }

    @ProcessElement
    public void process(@Element FileRanges.Range range, OutputReceiver<InT> out) throws IOException {
      String fileName = fileName(range);
      boolean[] invalid = new boolean[1];
      forEachLine(range, (lineNumber, text, utf8) -> {
        Line line = parse(format, fileName, lineNumber, text, utf8);
        if (line != null && line.error == null) {
          out.output(
              line.requestJson == null
                  ? fromPrompt.apply(line.key, line.prompt)
                  : fromRequest.apply(line.key, line.requestJson));
        } else if (line != null) {
          invalid[0] = true;
        }
      });
      if (!invalid[0]) {
        CleanRanges.add(run, range);
      }
    }
  }

  /**
   * The failure lines of one range's request lines that cannot be sent. Prompt lines are never
   * parsed (nor keyed), and with {@link Format#TEXT} the range is not read at all.
   */
  static final class InvalidLinesFn extends DoFn<FileRanges.Range, byte[]> {
    private final Format format;
    private final String run;
    private final Counter failures = Metrics.counter(BatchCommand.NAMESPACE, "failures");
    private final Counter skipped = Metrics.counter(BatchCommand.NAMESPACE, "cleanRangesSkipped");

    InvalidLinesFn(Format format, String run) {
      this.format = format;
      this.run = run;
    }

    @ProcessElement
    public void process(@Element FileRanges.Range range, OutputReceiver<byte[]> out) throws IOException {
      if (format == Format.TEXT) {
        return;
      }
      if (CleanRanges.take(run, range)) {
        skipped.inc();
        LOG.debug("Bytes {} to {} of {}: no line failed in the requests' step; not read again", range.start, range.end, range.file);
        return;
      }
      String fileName = fileName(range);
      try (Utf8Lines lines = range.open()) {
        long lineNumber = range.firstLine - 1;
        while (lines.next()) {
          lineNumber++;
          if (!mayBeRequestLine(format, lines)) {
            continue;
          }
          String text = text(lines, lineNumber);
          if (text.isBlank() || !isRequestLine(format, text)) {
            continue;
          }
          Line line = parse(format, fileName, lineNumber, text);
          if (line.error != null) {
            failures.inc();
            out.output(JsonLines.invalidLine(line.key, line.error, INVALID_ARGUMENT));
          }
        }
      }
    }
  }
}
