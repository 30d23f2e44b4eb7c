package io.geminibatch.testing.gcs;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;

/**
 * One generation of a stored object: its metadata as the JSON API reports it (sizes and
 * generations are plain longs here; the HTTP front end writes them as JSON strings). The content
 * is on disk; read it with {@link GcsStore#openObject(String, String)}.
 *
 * @param md5 the MD5 digest of the content (16 bytes)
 * @param crc32c the CRC32C (Castagnoli) of the content
 * @param metadata the user's {@code metadata} map (never null)
 */
public record GcsObject(
    String bucket,
    String name,
    long generation,
    long metageneration,
    long size,
    String contentType,
    String contentEncoding,
    byte[] md5,
    int crc32c,
    Instant timeCreated,
    Instant updated,
    Map<String, String> metadata,
    Path blob) {

  public GcsObject {
    metadata = Map.copyOf(metadata);
  }

  /** {@code md5Hash} as the API writes it: base64 of the 16-byte digest. */
  public String md5Base64() {
    return Base64.getEncoder().encodeToString(md5);
  }

  /** {@code crc32c} as the API writes it: base64 of the 4 bytes, big-endian. */
  public String crc32cBase64() {
    return Base64.getEncoder()
        .encodeToString(
            new byte[] {(byte) (crc32c >>> 24), (byte) (crc32c >>> 16), (byte) (crc32c >>> 8), (byte) crc32c});
  }

  /** {@code gs://bucket/name}. */
  public String gsPath() {
    return "gs://" + bucket + "/" + name;
  }

  /** A copy with a new metageneration and the given user metadata (a metadata update). */
  GcsObject withMetadata(Map<String, String> newMetadata, Instant now) {
    return new GcsObject(
        bucket, name, generation, metageneration + 1, size, contentType, contentEncoding, md5,
        crc32c, timeCreated, now, newMetadata, blob);
  }
}
