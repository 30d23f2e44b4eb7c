package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * A job the ledger records ({@code jobs/*.job} under a transform's {@link
 * GeminiBatchIO.Generate#stagingDirectory() staging directory}): the job's name and the name of
 * its uploaded input file, if any. The one reader of those files, for the connector and for a
 * caller that cleans up after a run that kept its artifacts.
 */
public final class RecordedJob {
  private final String jobName;
  private final String inputFileName;

  private RecordedJob(String jobName, String inputFileName) {
    this.jobName = jobName;
    this.inputFileName = inputFileName;
  }

  /** The job's name ({@code batches/...}), or null when the file is empty (being written). */
  public String jobName() {
    return jobName;
  }

  /** The uploaded input file's name ({@code files/...}), or null for an inline job. */
  public String inputFileName() {
    return inputFileName;
  }

  /** Reads a ledger's job file. */
  public static RecordedJob read(ResourceId file) throws IOException {
    try (InputStream in = Channels.newInputStream(FileSystems.open(file))) {
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** A job file's text: the job's name, then on the second line the input file's name, if any. */
  static RecordedJob parse(String text) {
    String[] lines = text == null ? new String[] {""} : text.split("\n", -1);
    String name = lines[0].trim();
    String input = lines.length > 1 ? lines[1].trim() : "";
    return new RecordedJob(name.isEmpty() ? null : name, input.isEmpty() ? null : input);
  }

  /** The text {@link #parse} reads. */
  static String format(String jobName, String inputFileName) {
    return jobName + "\n" + (inputFileName == null ? "" : inputFileName) + "\n";
  }
}
