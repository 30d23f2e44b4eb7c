package io.geminibatch.connector;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * The staging location through Beam's {@link FileSystems}: a local directory, {@code gs://} or
 * any registered file system. Holds staged shards and the job ledger.
 */
final class Staging {
  private Staging() {}

  static OutputStream create(String path) throws IOException {
    return Channels.newOutputStream(FileSystems.create(resource(path), "application/jsonl"));
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
