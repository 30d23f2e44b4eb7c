package io.geminibatch.testing;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.security.MessageDigest;

/** A resumable upload in progress (or finalized: {@link #result} set). Guarded by itself. */
final class UploadSession {
  final String uploadId;
  final String fileId;
  final String displayName;
  final String mimeType;
  /** X-Goog-Upload-Header-Content-Length, or null when the client did not send it. */
  final Long declaredSize;
  final Path tmp;
  FileChannel channel;
  MessageDigest digest;
  LineCounter lines = new LineCounter();
  long received;
  StoredFile result;

  UploadSession(
      String uploadId, String fileId, String displayName, String mimeType, Long declaredSize, Path tmp) {
    this.uploadId = uploadId;
    this.fileId = fileId;
    this.displayName = displayName;
    this.mimeType = mimeType;
    this.declaredSize = declaredSize;
    this.tmp = tmp;
  }
}
