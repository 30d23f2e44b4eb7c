package io.geminibatch.testing;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Writes a file on a background thread, so that producing result lines and
 * storing them overlap (about twice as fast on a 1 GB result). At most {@value #BLOCKS} blocks of
 * {@value #BLOCK_SIZE} bytes are in flight.
 */
final class PipelinedFileOutput extends OutputStream {
  private static final int BLOCK_SIZE = 1 << 20;
  private static final int BLOCKS = 4;

  private static final class Block {
    final byte[] data;
    int length;

    Block(int size) {
      data = new byte[size];
    }
  }

  private static final Block END = new Block(0);

  private final BlockingQueue<Block> full = new ArrayBlockingQueue<>(BLOCKS + 1);
  private final BlockingQueue<Block> free = new ArrayBlockingQueue<>(BLOCKS);
  private final FileChannel channel;
  private final Thread writer;
  private volatile IOException failure;
  private Block current = new Block(BLOCK_SIZE);
  private boolean closed;

  PipelinedFileOutput(Path path) throws IOException {
    channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    for (int i = 1; i < BLOCKS; i++) {
      free.add(new Block(BLOCK_SIZE));
    }
    writer = new Thread(this::drain, "gemini-emulator-writer");
    writer.setDaemon(true);
    writer.start();
  }

  private void drain() {
    try {
      Block b;
      while ((b = full.take()) != END) {
        if (failure == null) {
          try {
            ByteBuffer bb = ByteBuffer.wrap(b.data, 0, b.length);
            while (bb.hasRemaining()) {
              channel.write(bb);
            }
          } catch (IOException e) {
            failure = e;
          }
        }
        free.put(b);
      }
    } catch (InterruptedException e) {
      failure = new InterruptedIOException("interrupted while writing");
    }
  }

  @Override
  public void write(int b) throws IOException {
    if (current.length == current.data.length) {
      handOff();
    }
    current.data[current.length++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (current.length == current.data.length) {
        handOff();
      }
      int n = Math.min(len, current.data.length - current.length);
      System.arraycopy(b, off, current.data, current.length, n);
      current.length += n;
      off += n;
      len -= n;
    }
  }

  private void handOff() throws IOException {
    check();
    try {
      full.put(current);
      current = free.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing");
    }
    current.length = 0;
  }

  private void check() throws IOException {
    IOException e = failure;
    if (e != null) {
      throw e;
    }
  }

  /** Writes what is left, waits for the writer and closes the file. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (current.length > 0) {
        full.put(current);
      }
      full.put(END);
      writer.join();
    } catch (InterruptedException e) {
      writer.interrupt();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing");
    } finally {
      channel.close();
    }
    check();
  }
}
