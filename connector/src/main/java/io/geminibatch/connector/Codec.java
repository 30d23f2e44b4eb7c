package io.geminibatch.connector;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.util.VarInt;

/** Primitives shared by the element coders: var-int lengths, UTF-8 strings, nullable strings. */
final class Codec {
  private Codec() {}

  static void writeString(String s, OutputStream out) throws IOException {
    writeBytes(s.getBytes(StandardCharsets.UTF_8), out);
  }

  static String readString(InputStream in) throws IOException {
    return new String(readBytes(in), StandardCharsets.UTF_8);
  }

  /** Null is written as length 0 with a leading marker of 0; a present string as 1, then it. */
  static void writeNullableString(String s, OutputStream out) throws IOException {
    if (s == null) {
      out.write(0);
    } else {
      out.write(1);
      writeString(s, out);
    }
  }

  static String readNullableString(InputStream in) throws IOException {
    int marker = in.read();
    if (marker < 0) {
      throw new EOFException();
    }
    return marker == 0 ? null : readString(in);
  }

  static void writeBytes(byte[] b, OutputStream out) throws IOException {
    VarInt.encode(b.length, out);
    out.write(b);
  }

  static byte[] readBytes(InputStream in) throws IOException {
    return readFully(in, VarInt.decodeInt(in));
  }

  /** Exactly {@code len} bytes. */
  static byte[] readFully(InputStream in, int len) throws IOException {
    byte[] b = new byte[len];
    readFully(in, b, len);
    return b;
  }

  /** Exactly {@code len} bytes into {@code b[0, len)}. */
  static void readFully(InputStream in, byte[] b, int len) throws IOException {
    int off = 0;
    while (off < len) {
      int n = in.read(b, off, len - off);
      if (n < 0) {
        throw new EOFException("expected " + len + " bytes, got " + off);
      }
      off += n;
    }
  }

  static void writeVarLong(long v, OutputStream out) throws IOException {
    VarInt.encode(v, out);
  }

  static long readVarLong(InputStream in) throws IOException {
    return VarInt.decodeLong(in);
  }

  static void writeVarInt(int v, OutputStream out) throws IOException {
    VarInt.encode(v, out);
  }

  static int readVarInt(InputStream in) throws IOException {
    return VarInt.decodeInt(in);
  }
}
