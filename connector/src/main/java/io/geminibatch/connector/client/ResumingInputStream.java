package io.geminibatch.connector.client;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * A download body that survives dropped connections: it counts the bytes it has delivered and, when
 * a read fails or the body ends before its announced length, reopens the download at that byte. So
 * the reader never sees a byte twice or misses one.
 */
final class ResumingInputStream extends InputStream {

  /** One response body, positioned at the requested offset. */
  static final class Part {
    final InputStream body;

    /** Total length of the file, or -1 when the reply did not say. */
    final long length;

    Part(InputStream body, long length) {
      this.body = body;
      this.length = length;
    }
  }

  /** Opens the file's bytes from {@code offset} on. */
  @FunctionalInterface
  interface Opener {
    Part open(long offset) throws IOException;
  }

  /** Waits before the {@code retry}-th reopening in a row. */
  @FunctionalInterface
  interface Backoff {
    void pause(int retry, IOException cause) throws IOException;
  }

  private final String call;
  private final Opener opener;
  private final int maxResumes;
  private final Backoff backoff;
  private Part part;
  private long position;

  /** Reopenings since the last byte delivered: a slow but progressing download is not cut off. */
  private int resumesWithoutProgress;

  /** Starts at byte {@code offset} of the file. */
  ResumingInputStream(String call, Opener opener, long offset, int maxResumes, Backoff backoff)
      throws IOException {
    this.call = call;
    this.opener = opener;
    this.maxResumes = maxResumes;
    this.backoff = backoff;
    this.position = offset;
    this.part = opener.open(offset);
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    while (true) {
      IOException failure;
      try {
        int n = part.body.read(b, off, len);
        if (n >= 0) {
          position += n;
          resumesWithoutProgress = 0;
          return n;
        }
        if (part.length < 0 || position >= part.length) {
          return -1;
        }
        failure = new EOFException("body ended at byte " + position + " of " + part.length);
      } catch (IOException e) {
        failure = e;
      }
      resume(failure);
    }
  }

  private void resume(IOException cause) throws IOException {
    if (resumesWithoutProgress >= maxResumes) {
      throw new IOException(
          call
              + " broke off at byte "
              + position
              + " after "
              + maxResumes
              + " resumptions: "
              + cause,
          cause);
    }
    try {
      part.body.close();
    } catch (IOException e) {
      cause.addSuppressed(e);
    }
    backoff.pause(resumesWithoutProgress++, cause);
    part = opener.open(position);
  }

  @Override
  public void close() throws IOException {
    part.body.close();
  }
}
