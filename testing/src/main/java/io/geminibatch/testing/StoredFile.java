package io.geminibatch.testing;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.time.Instant;

/** A file of the Files API: its metadata and where its bytes are on disk. */
final class StoredFile {
  final String id;
  final long seq;
  final String displayName;
  final String mimeType;
  final long sizeBytes;
  final Instant createTime;
  final Instant expirationTime;
  /** Null until computed, for a generated file (see {@link #sha256Base64()}). */
  private volatile String sha256Base64;
  final boolean generated;
  final Path path;
  /** Non-blank lines: the request count when the file is used as batch input. */
  final long lines;

  StoredFile(
      String id,
      long seq,
      String displayName,
      String mimeType,
      long sizeBytes,
      Instant createTime,
      Instant expirationTime,
      String sha256Base64,
      boolean generated,
      Path path,
      long lines) {
    this.id = id;
    this.seq = seq;
    this.displayName = displayName;
    this.mimeType = mimeType;
    this.sizeBytes = sizeBytes;
    this.createTime = createTime;
    this.expirationTime = expirationTime;
    this.sha256Base64 = sha256Base64;
    this.generated = generated;
    this.path = path;
    this.lines = lines;
  }

  /**
   * The SHA-256 of the bytes, base64. An upload's is computed while its bytes arrive; a result
   * file's on first use (most clients only download it), from the file, which never changes.
   */
  String sha256Base64() throws IOException {
    String s = sha256Base64;
    if (s == null) {
      synchronized (this) {
        s = sha256Base64;
        if (s == null) {
          s = Base64.getEncoder().encodeToString(digest());
          sha256Base64 = s;
        }
      }
    }
    return s;
  }

  private byte[] digest() throws IOException {
    MessageDigest d = FileStore.sha256();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(path)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        d.update(buf, 0, n);
      }
    } catch (NoSuchFileException e) {
      // deleted (or expired) meanwhile
      throw ApiError.notFound("File " + name() + " not found.");
    }
    return d.digest();
  }

  String name() {
    return "files/" + id;
  }

  /** The File resource, camelCase, int64 as a string, fields in the proto's order. */
  void write(JsonGenerator g, String baseUrl) throws IOException {
    g.writeStartObject();
    g.writeStringField("name", name());
    if (displayName != null && !displayName.isEmpty()) {
      g.writeStringField("displayName", displayName);
    }
    g.writeStringField("mimeType", mimeType);
    g.writeStringField("sizeBytes", Long.toString(sizeBytes));
    String created = Json.time(createTime);
    g.writeStringField("createTime", created);
    g.writeStringField("updateTime", created);
    g.writeStringField("expirationTime", Json.time(expirationTime));
    g.writeStringField("sha256Hash", sha256Base64());
    g.writeStringField("uri", baseUrl + "/v1beta/files/" + id);
    if (generated) {
      g.writeStringField("downloadUri", baseUrl + "/download/v1beta/files/" + id + ":download?alt=media");
    }
    g.writeStringField("state", "ACTIVE");
    g.writeStringField("source", generated ? "GENERATED" : "UPLOADED");
    g.writeEndObject();
  }
}
