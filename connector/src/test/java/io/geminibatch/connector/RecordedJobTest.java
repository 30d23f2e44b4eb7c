package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.beam.sdk.io.FileSystems;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ledger's job files: what the connector writes is what {@link RecordedJob#read} reads. */
class RecordedJobTest {
  @TempDir Path dir;

  @Test
  void aJobFileWrittenByTheLedgerReadsBack() throws Exception {
    Path withInput = Files.writeString(dir.resolve("a.job"), RecordedJob.format("batches/abc", "files/in-1"));
    Path inline = Files.writeString(dir.resolve("b.job"), RecordedJob.format("batches/def", null));
    RecordedJob a = RecordedJob.read(FileSystems.matchNewResource(withInput.toString(), false));
    assertEquals("batches/abc", a.jobName());
    assertEquals("files/in-1", a.inputFileName());
    RecordedJob b = RecordedJob.read(FileSystems.matchNewResource(inline.toString(), false));
    assertEquals("batches/def", b.jobName());
    assertNull(b.inputFileName());
  }

  @Test
  void anEmptyOrPartFileNamesNoJob() throws Exception {
    assertNull(RecordedJob.parse("").jobName());
    assertNull(RecordedJob.parse("\n").inputFileName());
    // An older file with the name alone (no second line).
    Path old = Files.write(dir.resolve("c.job"), "batches/xyz".getBytes(StandardCharsets.UTF_8));
    RecordedJob c = RecordedJob.read(FileSystems.matchNewResource(old.toString(), false));
    assertEquals("batches/xyz", c.jobName());
    assertNull(c.inputFileName());
  }
}
