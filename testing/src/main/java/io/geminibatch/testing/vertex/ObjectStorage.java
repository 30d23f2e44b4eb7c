package io.geminibatch.testing.vertex;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * The Cloud Storage the Vertex AI emulator reads its jobs' input from and writes their
 * predictions to: the emulator's own Cloud Storage, in process.
 */
public interface ObjectStorage {
  /** The names of the objects of {@code bucket} whose name starts with {@code prefix}, sorted. */
  List<String> list(String bucket, String prefix) throws IOException;

  /**
   * The content of an object.
   *
   * @throws java.io.FileNotFoundException when there is no such bucket or object
   */
  InputStream open(String bucket, String name) throws IOException;

  /** Writes an object; it appears, whole, when the stream is closed. */
  OutputStream create(String bucket, String name, String contentType) throws IOException;
}
