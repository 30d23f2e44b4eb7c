package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file read in ranges gives every line once, under the number a single reader gives it. */
class FileRangesTest {

  @TempDir Path tmp;

  @Test
  void rangesReadTheLinesOfOneReaderWithTheirNumbers() throws IOException {
    // Every line terminator BufferedReader knows, blank lines and a last line without one.
    StringBuilder text = new StringBuilder();
    String[] ends = {"\n", "\r\n", "\r", "\n\n", "\r\n"};
    for (int i = 0; i < 200; i++) {
      text.append("prompt ").append(i).append(" é").append(ends[i % ends.length]);
    }
    text.append("last");
    Path file = tmp.resolve("p.txt");
    Files.writeString(file, text, StandardCharsets.UTF_8);

    List<String> expected = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      long n = 0;
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        n++;
        if (!line.isBlank()) {
          expected.add(InputLines.lineKey("p.txt", n, line) + " " + line);
        }
      }
    }

    Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
    PCollection<FileRanges.Range> ranges =
        p.apply(FileIO.match().filepattern(file.toString()))
            .apply(ParDo.of(new FileRanges.SplitFn(100)))
            .setCoder(FileRanges.RangeCoder.INSTANCE);
    PAssert.that(ranges).satisfies(r -> {
      int count = 0;
      for (FileRanges.Range range : r) {
        count++;
      }
      assertTrue(count > 10, count + " ranges");
      return null;
    });
    PCollection<String> lines =
        ranges
            .apply(ParDo.of(new InputLines.ReadLinesFn<>(InputLines.Format.AUTO, (k, t) -> k + " " + t, (k, t) -> k + " " + t)))
            .setCoder(org.apache.beam.sdk.coders.StringUtf8Coder.of());
    PAssert.that(lines).containsInAnyOrder(expected);
    p.run().waitUntilFinish();
    assertEquals(201, expected.size(), "blank lines are skipped, and counted");
  }

  @Test
  void theStepOfRequestsAndTheStepOfFailuresTogetherGiveEveryLineOnce() throws IOException {
    // Prompts, requests, request lines that cannot be sent, blank lines and every terminator, in
    // ranges of 1 to 300 bytes: the two steps that read the ranges must together give what one
    // reader parsing every line gives (the simple twin), each line once.
    String[] kinds = {
      "a prompt %d é", "{\"key\":\"k%d\",\"request\":{\"contents\":[]}}", "  {\"request\":{\"n\":%d}}",
      "{\"key\":\"bad%d\",", "", "   ", "\t{not json %d", "{\"key\":\"nr%d\"}", " plain %d {"
    };
    String[] ends = {"\n", "\r\n", "\r"};
    StringBuilder text = new StringBuilder("\uFEFF");
    for (int i = 0; i < 150; i++) {
      text.append(String.format(kinds[(i * 7) % kinds.length], i)).append(ends[i % ends.length]);
    }
    text.append("{\"key\":\"last\"");
    Path file = tmp.resolve("m.jsonl");
    Files.writeString(file, text, StandardCharsets.UTF_8);

    List<String> requests = new ArrayList<>();
    List<String> invalid = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      long n = 0;
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        n++;
        InputLines.Line parsed = InputLines.parse(InputLines.Format.AUTO, "m.jsonl", n, n == 1 ? line.substring(1) : line);
        if (parsed == null) {
          continue;
        }
        if (parsed.error != null) {
          invalid.add(new String(JsonLines.invalidLine(parsed.key, parsed.error, InputLines.INVALID_ARGUMENT), StandardCharsets.UTF_8));
        } else {
          requests.add(parsed.key + " " + (parsed.prompt != null ? parsed.prompt : parsed.requestJson));
        }
      }
    }
    assertTrue(invalid.size() > 20 && requests.size() > 50, invalid.size() + " invalid, " + requests.size() + " requests");

    for (int rangeBytes : new int[] {1, 37, 300}) {
      Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
      PCollection<FileRanges.Range> ranges =
          p.apply(FileIO.match().filepattern(file.toString()))
              .apply(ParDo.of(new FileRanges.SplitFn(rangeBytes)))
              .setCoder(FileRanges.RangeCoder.INSTANCE);
      PCollection<String> read =
          ranges
              .apply("Lines", ParDo.of(new InputLines.ReadLinesFn<>(InputLines.Format.AUTO, (k, t) -> k + " " + t, (k, t) -> k + " " + t)))
              .setCoder(org.apache.beam.sdk.coders.StringUtf8Coder.of());
      PCollection<String> failed =
          ranges
              .apply("InvalidLines", ParDo.of(new InputLines.InvalidLinesFn(InputLines.Format.AUTO)))
              .apply(MapElements.into(TypeDescriptors.strings()).via(b -> new String(b, StandardCharsets.UTF_8)));
      PAssert.that("requests in ranges of " + rangeBytes, read).containsInAnyOrder(requests);
      PAssert.that("failures in ranges of " + rangeBytes, failed).containsInAnyOrder(invalid);
      p.run().waitUntilFinish();
    }
  }
}
