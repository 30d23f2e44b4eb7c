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
  private static final org.apache.beam.sdk.values.TupleTag<String> STRINGS = new org.apache.beam.sdk.values.TupleTag<String>() {};

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
            .apply(
                ParDo.of(new InputLines.ReadLinesFn<>(InputLines.Format.AUTO, (k, t) -> k + " " + t, (k, t) -> k + " " + t, STRINGS))
                    .withOutputTags(STRINGS, org.apache.beam.sdk.values.TupleTagList.of(InputLines.INVALID)))
            .get(STRINGS)
            .setCoder(org.apache.beam.sdk.coders.StringUtf8Coder.of());
    PAssert.that(lines).containsInAnyOrder(expected);
    p.run().waitUntilFinish();
    assertEquals(201, expected.size(), "blank lines are skipped, and counted");
  }
}
