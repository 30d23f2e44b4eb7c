package io.geminibatch.pipelines;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import org.apache.beam.sdk.io.DefaultFilenamePolicy;
import org.apache.beam.sdk.io.DynamicFileDestinations;
import org.apache.beam.sdk.io.FileBasedSink;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.options.ValueProvider.StaticValueProvider;
import org.apache.beam.sdk.util.MimeTypes;

/**
 * JSONL files written from lines already encoded (UTF-8 ending in a newline), named as {@code
 * TextIO} names its files ({@code PREFIX-SSSSS-of-NNNNN.jsonl}, an empty one when there are no
 * lines): no line is decoded to a String and encoded again.
 */
final class JsonlSink extends FileBasedSink<byte[], Void, byte[]> {
  private static final long serialVersionUID = 1L;

  JsonlSink(ResourceId prefix) {
    super(
        StaticValueProvider.of(prefix),
        DynamicFileDestinations.constant(
            DefaultFilenamePolicy.fromStandardParameters(StaticValueProvider.of(prefix), null, ".jsonl", false)));
  }

  @Override
  public WriteOperation<Void, byte[]> createWriteOperation() {
    return new WriteOperation<Void, byte[]>(this) {
      private static final long serialVersionUID = 1L;

      @Override
      public Writer<Void, byte[]> createWriter() {
        return new LineWriter(this);
      }
    };
  }

  private static final class LineWriter extends Writer<Void, byte[]> {
    private OutputStream out;

    LineWriter(WriteOperation<Void, byte[]> operation) {
      super(operation, MimeTypes.TEXT);
    }

    @Override
    protected void prepareWrite(WritableByteChannel channel) {
      out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
    }

    @Override
    public void write(byte[] line) throws IOException {
      out.write(line);
    }

    @Override
    protected void finishWrite() throws IOException {
      out.flush();
    }
  }
}
