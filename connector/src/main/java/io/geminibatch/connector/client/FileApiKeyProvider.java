package io.geminibatch.connector.client;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.beam.sdk.io.FileSystems;

/**
 * Reads the API key from a file where the key is used (on the worker that builds the client,
 * once per JVM), through Beam's {@link FileSystems}: a local path or any registered file system,
 * {@code gs://} included. The file holds the key alone (surrounding whitespace is ignored); only
 * its path is serialized with the pipeline.
 */
public final class FileApiKeyProvider extends ReadOnceApiKeyProvider {
  private static final long serialVersionUID = 1L;
  private static final int MAX_BYTES = 64 * 1024;

  private final String path;

  FileApiKeyProvider(String path) {
    if (path == null || path.trim().isEmpty()) {
      throw new IllegalArgumentException("apiKeyFile must be a path, got '" + path + "'");
    }
    this.path = path;
  }

  public String getPath() {
    return path;
  }

  @Override
  String read() {
    byte[] bytes;
    try (InputStream in = Channels.newInputStream(FileSystems.open(FileSystems.matchNewResource(path, false)))) {
      bytes = in.readNBytes(MAX_BYTES + 1);
    } catch (FileNotFoundException e) {
      throw new ApiKeyUnavailableException(
          "API key file " + path + " does not exist: write the key to it (e.g. gcloud storage cp key.txt " + path
              + ") or fix --apiKeyFile",
          e);
    } catch (IOException | RuntimeException e) {
      throw new ApiKeyUnavailableException(
          "cannot read the API key file " + path + ": " + e.getMessage()
              + " (check that the account the workers run as may read it)",
          e);
    }
    if (bytes.length > MAX_BYTES) {
      throw new ApiKeyUnavailableException("API key file " + path + " is over " + MAX_BYTES + " bytes: it must hold the key alone");
    }
    String k = new String(bytes, StandardCharsets.UTF_8).trim();
    if (k.isEmpty()) {
      throw new ApiKeyUnavailableException("API key file " + path + " is empty: write the API key to it");
    }
    return k;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FileApiKeyProvider && ((FileApiKeyProvider) o).path.equals(path);
  }

  @Override
  public int hashCode() {
    return Objects.hash(path);
  }

  @Override
  public String toString() {
    return "file " + path;
  }
}
