package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * The staging location through Beam's {@link FileSystems}: a local directory, {@code gs://} or
 * any registered file system. Holds staged shards and the job ledger. Local files are written
 * through a channel of their own ({@link #create(ResourceId, String)}).
 */
final class Staging {
  private Staging() {}

  static OutputStream create(String path) throws IOException {
    return create(resource(path), "application/jsonl");
  }

  /**
   * A new file's stream (replacing one of that name). A local file is written through a {@link
   * FileChannel} of its own, each write handed to the kernel whole: Beam's local channel ({@code
   * Channels.newChannel} over a {@code FileOutputStream}) cuts every write into 8 KB system calls.
   * With the callers' buffers of 64 KB and 1 MB that is 8 to 128 times the calls: four threads
   * writing 1.33 GB of 1.3 KB lines (a 1,000,000-prompt run's responses) took 0.65 CPU-s in Java and
   * 1.16 in the kernel that way, 0.33 and 0.46 with whole writes (this project's 2-core machine).
   * Other file systems go through {@link FileSystems} as before; {@link #createThroughFileSystems}
   * is the twin tests compare with.
   */
  static OutputStream create(ResourceId id, String mimeType) throws IOException {
    if (!"file".equals(id.getScheme())) {
      return createThroughFileSystems(id, mimeType);
    }
    Path file = Path.of(id.toString());
    Path parent = file.getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    return Channels.newOutputStream(
        FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING));
  }

  /** {@link #create(ResourceId, String)} as Beam's file systems write it, for every scheme. */
  static OutputStream createThroughFileSystems(ResourceId id, String mimeType) throws IOException {
    return Channels.newOutputStream(FileSystems.create(id, mimeType));
  }

  static InputStream open(String path) throws IOException {
    return Channels.newInputStream(FileSystems.open(resource(path)));
  }

  static java.nio.channels.ReadableByteChannel openChannel(String path) throws IOException {
    return FileSystems.open(resource(path));
  }

  /** Deletes every file matching {@code glob} (a directory's files: {@code dir + "*"}). */
  static void deleteMatching(String glob) throws IOException {
    MatchResult m = FileSystems.match(glob, EmptyMatchTreatment.ALLOW);
    if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
      return;
    }
    List<ResourceId> ids = new ArrayList<>();
    for (MatchResult.Metadata md : m.metadata()) {
      ids.add(md.resourceId());
    }
    FileSystems.delete(ids, MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
  }

  static boolean exists(String path) throws IOException {
    MatchResult m = FileSystems.match(path, EmptyMatchTreatment.ALLOW);
    return m.status() == MatchResult.Status.OK && !m.metadata().isEmpty();
  }

  /** A small text file's content, or null when it does not exist. */
  static String readText(String path) throws IOException {
    if (!exists(path)) {
      return null;
    }
    try (InputStream in = open(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static void writeText(String path, String content) throws IOException {
    try (OutputStream out = create(path)) {
      out.write(content.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Moves a file into place, replacing what may be there (a replayed bundle's same file). */
  static void rename(String from, String to) throws IOException {
    FileSystems.rename(
        List.of(resource(from)),
        List.of(resource(to)),
        MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
  }

  /** Deletes what exists of {@code paths}. */
  static void delete(String... paths) throws IOException {
    List<ResourceId> ids = new ArrayList<>();
    for (String p : paths) {
      ids.add(resource(p));
    }
    FileSystems.delete(ids, MoveOptions.StandardMoveOptions.IGNORE_MISSING_FILES);
  }

  private static ResourceId resource(String path) {
    return FileSystems.matchNewResource(path, false);
  }
}
