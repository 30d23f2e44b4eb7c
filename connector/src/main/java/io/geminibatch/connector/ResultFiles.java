package io.geminibatch.connector;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.UUID;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.util.MimeTypes;

/**
 * The result files of {@code withResultFiles(prefix)}: the read step writes each claimed block of a
 * job's responses to {@code PREFIX-JOBID-NNNNN.jsonl} (NNNNN the block's index in the job's
 * results). A block's lines depend only on the job's result file, which never changes, so the name
 * is deterministic: the lines go to a hidden temporary file beside it ({@code .NAME.UUID.tmp}, which
 * no {@code PREFIX-*} glob matches) and the file is renamed onto the name once the block is
 * claimed. A bundle that fails after the rename is retried from its first unclaimed block and
 * writes the same file again, so every response ends up in exactly one file, once.
 */
final class ResultFiles {
  private static final int BUFFER_BYTES = 1 << 20;

  private ResultFiles() {}

  /** The file of block {@code block} of job {@code jobName} ({@code batches/ID}). */
  static ResourceId blockFile(String prefix, String jobName, long block) {
    String id = jobName.substring(jobName.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9_-]", "_");
    return FileSystems.matchNewResource(String.format("%s-%s-%05d.jsonl", prefix, id, block), false);
  }

  /** One block being written: lines go to its temporary file until {@link #commit} or {@link #abort}. */
  static final class BlockWriter {
    private final ResourceId target;
    private final ResourceId temp;
    private final OutputStream out;

    BlockWriter(String prefix, String jobName, long block) throws IOException {
      this.target = blockFile(prefix, jobName, block);
      this.temp =
          target
              .getCurrentDirectory()
              .resolve("." + target.getFilename() + "." + UUID.randomUUID() + ".tmp", ResolveOptions.StandardResolveOptions.RESOLVE_FILE);
      this.out = new BufferedOutputStream(Staging.create(temp, MimeTypes.TEXT), BUFFER_BYTES);
    }

    /** The block's buffered stream, its lines written in parts. */
    OutputStream stream() {
      return out;
    }

    /** An error writing {@link #stream()}, named. */
    UncheckedIOException failed(IOException e) {
      return new UncheckedIOException("cannot write the result file " + temp, e);
    }

    /** Closes the block and puts it under its name, replacing what a failed bundle left there. */
    void commit() throws IOException {
      out.close();
      FileSystems.rename(List.of(temp), List.of(target));
    }

    /** Drops the block (its claim failed, or its read): deletes the temporary file. */
    void abort() {
      try {
        out.close();
      } catch (IOException e) {
        // deleted below all the same
      }
      try {
        FileSystems.delete(List.of(temp), MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
      } catch (IOException e) {
        // a hidden leftover, matched by no PREFIX-* glob
      }
    }
  }
}
