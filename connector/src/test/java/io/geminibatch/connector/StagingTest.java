package io.geminibatch.connector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local file written through its own channel ({@link Staging#create(ResourceId, String)}) against
 * the same bytes written through Beam's file systems, its twin: sizes and write sizes across Beam's
 * 8 KB chunks and the callers' 64 KB and 1 MB buffers.
 */
class StagingTest {
  private static final int KB = 1024;
  private static final int MB = 1024 * KB;

  @TempDir Path tmp;

  @Test
  void aLocalFileHoldsWhatBeamsChannelWouldHaveWritten() throws IOException {
    int[] sizes = {0, 1, 8 * KB - 1, 8 * KB, 8 * KB + 1, 64 * KB - 1, 64 * KB, 64 * KB + 1, MB - 1, MB, MB + 1, 3 * MB + 7};
    // Writes of one byte, of a line, of Beam's chunk and around it, and of a whole buffer.
    int[] writeSizes = {1, 1071, 8 * KB - 1, 8 * KB, 8 * KB + 1, MB};
    int[] buffers = {64 * KB, MB};
    Random random = new Random(11);
    int n = 0;
    for (int size : sizes) {
      byte[] content = new byte[size];
      random.nextBytes(content);
      for (int writeSize : writeSizes) {
        if (writeSize == 1 && size > 64 * KB + 1) {
          continue; // a byte at a time through a buffer: the small sizes cover it
        }
        for (int buffer : buffers) {
          n++;
          ResourceId fast = resource("fast/" + n + "/file.jsonl");
          ResourceId twin = resource("twin/" + n + "/file.jsonl");
          write(Staging.create(fast, "application/jsonl"), content, writeSize, buffer);
          write(Staging.createThroughFileSystems(twin, "application/jsonl"), content, writeSize, buffer);
          byte[] expected = Files.readAllBytes(Path.of(twin.toString()));
          assertArrayEquals(content, expected, "the twin itself, size " + size);
          assertArrayEquals(
              expected,
              Files.readAllBytes(Path.of(fast.toString())),
              "size " + size + ", writes of " + writeSize + ", buffer " + buffer);
        }
      }
    }
  }

  @Test
  void aFileOfTheSameNameIsReplacedWhole() throws IOException {
    // A replayed bundle writes a shorter file where a longer one was: nothing of the old one stays.
    ResourceId id = resource("again/file.jsonl");
    byte[] first = new byte[3 * MB];
    new Random(3).nextBytes(first);
    write(Staging.create(id, "application/jsonl"), first, MB, MB);
    byte[] second = "{\"key\":\"a\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    write(Staging.create(id, "application/jsonl"), second, 1, 64 * KB);
    assertArrayEquals(second, Files.readAllBytes(Path.of(id.toString())));
    try (java.util.stream.Stream<Path> files = Files.list(tmp.resolve("again"))) {
      assertEquals(1, files.count());
    }
  }

  private ResourceId resource(String relative) {
    return FileSystems.matchNewResource(tmp.resolve(relative).toString(), false);
  }

  private static void write(OutputStream file, byte[] content, int writeSize, int buffer) throws IOException {
    try (OutputStream out = new BufferedOutputStream(file, buffer)) {
      for (int at = 0; at < content.length; at += writeSize) {
        out.write(content, at, Math.min(writeSize, content.length - at));
      }
    }
  }
}
