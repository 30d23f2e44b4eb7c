package io.geminibatch.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
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

    List<FileRanges.Source> splits = new FileRanges.Source(file.toString(), 100).split(1, PipelineOptionsFactory.create());
    assertTrue(splits.size() > 10, splits.size() + " ranges");
    Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
    InputLines.Read<String> read =
        InputLines.read(file.toString(), InputLines.Format.AUTO, (k, t) -> k + " " + t, (k, t) -> k + " " + t, StringUtf8Coder.of())
            .withRangeBytes(100);
    PCollection<String> lines = p.apply(read).get(read.requests);
    PAssert.that(lines).containsInAnyOrder(expected);
    p.run().waitUntilFinish();
    assertEquals(201, expected.size(), "blank lines are skipped, and counted");
  }

  /** Collects what a step outputs, outside a pipeline. */
  private static <T> org.apache.beam.sdk.transforms.DoFn.OutputReceiver<T> into(List<T> list) {
    return value ->
        org.apache.beam.sdk.values.WindowedValues.<T>builder()
            .setValue(value)
            .setTimestamp(org.apache.beam.sdk.transforms.windowing.BoundedWindow.TIMESTAMP_MIN_VALUE)
            .setWindow(org.apache.beam.sdk.transforms.windowing.GlobalWindow.INSTANCE)
            .setPaneInfo(org.apache.beam.sdk.transforms.windowing.PaneInfo.NO_FIRING)
            .setReceiver(wv -> list.add(wv.getValue()));
  }

  @Test
  void aRangeTheRequestsStepFoundCleanIsNotReadAgainByTheFailuresStep() throws IOException {
    Path clean = tmp.resolve("clean.txt");
    Files.writeString(clean, "one\n{\"key\":\"k\",\"request\":{\"contents\":[]}}\n\nthree\n", StandardCharsets.UTF_8);
    Path dirty = tmp.resolve("dirty.txt");
    Files.writeString(dirty, "one\n{\"key\":\"k\",\n", StandardCharsets.UTF_8);
    FileRanges.Range cleanRange = new FileRanges.Range(clean.toString(), 0, -1, 1);
    FileRanges.Range dirtyRange = new FileRanges.Range(dirty.toString(), 0, -1, 1);
    String run = "run-" + System.nanoTime();
    InputLines.ReadLinesFn<String> requests =
        new InputLines.ReadLinesFn<>(InputLines.Format.AUTO, (k, t) -> k, (k, t) -> k, run);
    List<String> read = new ArrayList<>();
    requests.process(cleanRange, into(read));
    requests.process(dirtyRange, into(read));
    assertEquals(4, read.size(), read.toString());

    // The clean file is gone: a step that read it again would fail. The failures' step of the same
    // read skips it, and still reads the other file, whose bad line it reports.
    Files.delete(clean);
    InputLines.InvalidLinesFn failures = new InputLines.InvalidLinesFn(InputLines.Format.AUTO, run);
    List<byte[]> failed = new ArrayList<>();
    failures.process(cleanRange, into(failed));
    failures.process(dirtyRange, into(failed));
    assertEquals(1, failed.size());
    assertTrue(new String(failed.get(0), StandardCharsets.UTF_8).contains("dirty.txt line 2"), new String(failed.get(0), StandardCharsets.UTF_8));

    // Taken once: a retried failures' step, and any other read, reads the range itself.
    assertThrows(IOException.class, () -> failures.process(cleanRange, into(new ArrayList<>())));
    Files.writeString(clean, "one\n", StandardCharsets.UTF_8);
    InputLines.ReadLinesFn<String> other =
        new InputLines.ReadLinesFn<>(InputLines.Format.AUTO, (k, t) -> k, (k, t) -> k, run + "-other");
    other.process(cleanRange, into(new ArrayList<>()));
    Files.delete(clean);
    assertThrows(IOException.class, () -> failures.process(cleanRange, into(new ArrayList<>())));
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

    for (int rangeBytes : new int[] {1, 37, 300, 0}) {
      // 0: the ranges the runner's split asks for (the whole file here).
      Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
      InputLines.Read<String> both =
          InputLines.read(file.toString(), InputLines.Format.AUTO, (k, t) -> k + " " + t, (k, t) -> k + " " + t, StringUtf8Coder.of())
              .withRangeBytes(rangeBytes);
      PCollectionTuple out = p.apply(both);
      PCollection<String> read = out.get(both.requests);
      PCollection<String> failed =
          out.get(InputLines.INVALID)
              .apply(MapElements.into(TypeDescriptors.strings()).via(b -> new String(b, StandardCharsets.UTF_8)));
      PAssert.that("requests in ranges of " + rangeBytes, read).containsInAnyOrder(requests);
      PAssert.that("failures in ranges of " + rangeBytes, failed).containsInAnyOrder(invalid);
      p.run().waitUntilFinish();
    }
  }

  @Test
  void aSourceSplitsIntoContiguousRangesThatCoverEveryFileOnceWhateverTheSize() throws Exception {
    // Lines of many lengths, so that split points fall everywhere; two files in one pattern.
    StringBuilder text = new StringBuilder();
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 3000; i++) {
      text.append("x".repeat(random.nextInt(300))).append(i % 5 == 0 ? "\r\n" : "\n");
    }
    Files.writeString(tmp.resolve("a.txt"), text);
    Files.writeString(tmp.resolve("b.txt"), text.substring(0, text.length() / 3));
    String pattern = tmp.resolve("*.txt").toString();
    org.apache.beam.sdk.options.PipelineOptions options = PipelineOptionsFactory.create();
    long total = Files.size(tmp.resolve("a.txt")) + Files.size(tmp.resolve("b.txt"));
    FileRanges.Source source = new FileRanges.Source(pattern, 0);
    assertEquals(total, source.getEstimatedSizeBytes(options));
    for (long desired : new long[] {1, 4L << 20, 64L << 20, 1L << 40}) {
      long rangeBytes = source.rangeBytes(desired);
      assertTrue(rangeBytes >= FileRanges.MIN_RANGE_BYTES && rangeBytes <= FileRanges.RANGE_BYTES, "" + rangeBytes);
    }
    for (long rangeBytes : new long[] {1, 999, 4096, 65_536, 1L << 30}) {
      java.util.Map<String, Long> covered = new java.util.TreeMap<>();
      long sizes = 0;
      for (FileRanges.Source split : new FileRanges.Source(pattern, rangeBytes).split(1, options)) {
        FileRanges.Range r = split.createReader(options).start() ? readOne(split, options) : null;
        long end = r.whole() ? Files.size(java.nio.file.Paths.get(r.file)) : r.end;
        assertEquals(covered.getOrDefault(r.file, 0L), r.start, "ranges of " + rangeBytes + " are contiguous in order");
        covered.put(r.file, end);
        sizes += split.getEstimatedSizeBytes(options);
        byte[] bytes = Files.readAllBytes(java.nio.file.Paths.get(r.file));
        if (end < bytes.length) {
          assertEquals('\n', bytes[(int) end - 1], "a range ends after a line");
          assertTrue(end - r.start >= rangeBytes, "only a file's last range is short");
        }
      }
      assertEquals(total, sizes, "ranges of " + rangeBytes + " cover every byte once");
      assertEquals(2, covered.size());
    }
    // Unsplit (a runner may read a source whole): every range, in one reader.
    List<FileRanges.Range> all = new ArrayList<>();
    try (org.apache.beam.sdk.io.BoundedSource.BoundedReader<FileRanges.Range> r = new FileRanges.Source(pattern, 4096).createReader(options)) {
      for (boolean more = r.start(); more; more = r.advance()) {
        all.add(r.getCurrent());
      }
    }
    assertEquals(new FileRanges.Source(pattern, 4096).split(1, options).size(), all.size());
  }

  private static FileRanges.Range readOne(FileRanges.Source split, org.apache.beam.sdk.options.PipelineOptions options) throws IOException {
    try (org.apache.beam.sdk.io.BoundedSource.BoundedReader<FileRanges.Range> r = split.createReader(options)) {
      assertTrue(r.start());
      FileRanges.Range range = r.getCurrent();
      assertTrue(!r.advance(), "one range per split");
      return range;
    }
  }

  @Test
  void aCompressedFileIsOneRangeReadWholeBesideAPlainOneSplitInMany() throws Exception {
    // A .gz file cannot be read from an offset: one range, decompressed, keyed as a plain
    // reader keys it; the plain file next to it in the same pattern is split as usual.
    StringBuilder text = new StringBuilder("\uFEFF");
    for (int i = 0; i < 500; i++) {
      text.append("prompt ").append(i).append(i % 7 == 0 ? " é" : "").append(i % 3 == 0 ? "\r\n" : "\n");
    }
    Path plain = tmp.resolve("a.txt");
    Files.writeString(plain, text, StandardCharsets.UTF_8);
    Path gz = tmp.resolve("b.txt.gz");
    try (java.io.OutputStream out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write(text.toString().getBytes(StandardCharsets.UTF_8));
    }
    List<String> expected = new ArrayList<>();
    for (Path file : List.of(plain, gz)) {
      java.io.InputStream in = Files.newInputStream(file);
      if (file.toString().endsWith(".gz")) {
        in = new java.util.zip.GZIPInputStream(in);
      }
      try (BufferedReader r = new BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
        long n = 0;
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          n++;
          line = n == 1 ? line.substring(1) : line;
          expected.add(InputLines.lineKey(file.getFileName().toString(), n, line) + " " + line);
        }
      }
    }
    org.apache.beam.sdk.options.PipelineOptions options = PipelineOptionsFactory.create();
    List<FileRanges.Source> splits = new FileRanges.Source(tmp.resolve("*").toString(), 512).split(1, options);
    long whole = splits.stream().filter(s -> {
      try {
        return readOne(s, options).whole();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).count();
    assertEquals(1, whole, "the compressed file is one range");
    assertTrue(splits.size() > 5, splits.size() + " ranges");
    Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
    InputLines.Read<String> read =
        InputLines.read(tmp.resolve("*").toString(), InputLines.Format.AUTO, (k, t) -> k + " " + t, (k, t) -> k + " " + t, StringUtf8Coder.of())
            .withRangeBytes(512);
    PAssert.that(p.apply(read).get(read.requests)).containsInAnyOrder(expected);
    p.run().waitUntilFinish();
  }

  @Test
  void manyFilesAreScannedAtOnceEachKeepingItsOwnRangesInOrderAndAFailedScanIsAnError() throws Exception {
    // More files than scan threads: every file's ranges, contiguous, in the files' order.
    int files = FileRanges.SCAN_THREADS + 5;
    List<org.apache.beam.sdk.io.fs.MatchResult.Metadata> metadata = new ArrayList<>();
    for (int f = 0; f < files; f++) {
      Path file = tmp.resolve(String.format("m%02d.txt", f));
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < 40 + 13 * f; i++) {
        text.append("file ").append(f).append(" line ").append(i).append('\n');
      }
      Files.writeString(file, text);
      metadata.add(org.apache.beam.sdk.io.FileSystems.matchSingleFileSpec(file.toString()));
    }
    List<List<FileRanges.Range>> ranges = FileRanges.splitAll(metadata, 97);
    assertEquals(files, ranges.size());
    for (int f = 0; f < files; f++) {
      assertEquals(FileRanges.split(metadata.get(f), 97).size(), ranges.get(f).size(), "file " + f);
      long at = 0;
      long line = 1;
      for (FileRanges.Range r : ranges.get(f)) {
        assertEquals(metadata.get(f).resourceId().toString(), r.file);
        assertEquals(at, r.start, "file " + f);
        assertEquals(line, r.firstLine, "file " + f);
        line += Files.readString(java.nio.file.Paths.get(r.file)).substring((int) r.start, (int) r.end).chars().filter(c -> c == '\n').count();
        at = r.end;
      }
      assertEquals(metadata.get(f).sizeBytes(), at, "file " + f + " covered");
    }
    // A file gone between the match and the scan: the split fails with the file system's error.
    Files.delete(tmp.resolve("m03.txt"));
    java.io.IOException e =
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> FileRanges.splitAll(metadata, 89));
    assertTrue(String.valueOf(e.getMessage()).contains("m03.txt"), e.toString());
  }
}
