package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;

/**
 * Where rebuilt bytes go: a stream (a file being written), memory, or a {@link Scratch} buffer
 * (memory, then a file), never past a limit that comes from a signed size or a cap. Writing past
 * it means the delta lies: PATCH_MALFORMED. Memory grows with what is written, never with the
 * limit. Failures of the underlying stream or file become IO_ERROR, so they are not mistaken for
 * bad input.
 */
final class BoundedOutput extends OutputStream {
  private final OutputStream out;
  private final long limit;
  private final Scratch scratch;
  private long position;
  private byte[] memory;
  private FileChannel file;

  /** Writes to {@code out}, at most {@code limit} bytes. */
  BoundedOutput(OutputStream out, long limit) {
    this(out, limit, null);
  }

  private BoundedOutput(OutputStream out, long limit, Scratch scratch) {
    this.out = out;
    this.limit = limit;
    this.scratch = scratch;
  }

  /** Collects at most {@code limit} bytes in memory; see {@link #toByteArray()}. */
  static BoundedOutput inMemory(long limit) {
    BoundedOutput o = new BoundedOutput(null, limit, null);
    o.memory = new byte[(int) Math.min(limit, 64 * 1024)];
    return o;
  }

  /** Collects at most {@code limit} bytes, beyond {@link Scratch#IN_MEMORY} in a scratch file. */
  static BoundedOutput spilling(long limit, Scratch scratch) {
    BoundedOutput o = new BoundedOutput(null, limit, scratch);
    o.memory = new byte[(int) Math.min(limit, 64 * 1024)];
    return o;
  }

  long position() {
    return position;
  }

  long remaining() {
    return limit - position;
  }

  @Override
  public void write(int b) {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int offset, int length) {
    claim(length);
    if (file != null) {
      toFile(ByteBuffer.wrap(b, offset, length));
    } else if (memory != null) {
      if (position + length > memory.length) {
        if (scratch != null && position + length > Scratch.IN_MEMORY) {
          file = scratch.newFile();
          toFile(ByteBuffer.wrap(memory, 0, (int) position));
          memory = null;
          toFile(ByteBuffer.wrap(b, offset, length));
          position += length;
          return;
        }
        memory = Arrays.copyOf(memory, (int) Math.min(limit, Math.max(position + length, memory.length * 2L)));
      }
      System.arraycopy(b, offset, memory, (int) position, length);
    } else {
      try {
        out.write(b, offset, length);
      } catch (IOException e) {
        throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write: " + e.getMessage(), e);
      }
    }
    position += length;
  }

  /** Copies the buffer's remaining bytes. */
  void write(ByteBuffer source) {
    ByteBuffer b = source.duplicate();
    claim(b.remaining());
    if (b.hasArray()) {
      write(b.array(), b.arrayOffset() + b.position(), b.remaining());
      return;
    }
    byte[] chunk = new byte[(int) Math.min(b.remaining(), 64 * 1024)];
    while (b.hasRemaining()) {
      int n = Math.min(chunk.length, b.remaining());
      b.get(chunk, 0, n);
      write(chunk, 0, n);
    }
  }

  /** What was written to memory; only for {@link #inMemory}. */
  byte[] toByteArray() {
    return memory.length == position ? memory : Arrays.copyOf(memory, (int) position);
  }

  /** What was written, read in place (from memory, or mapped from the scratch file); ends this buffer. */
  ByteBuffer toBuffer() {
    if (file == null) {
      return ByteBuffer.wrap(memory, 0, (int) position).slice();
    }
    try {
      ByteBuffer mapped = file.map(FileChannel.MapMode.READ_ONLY, 0, position);
      scratch.release(file);
      file = null;
      return mapped;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read a scratch file back: " + e.getMessage(), e);
    }
  }

  private void toFile(ByteBuffer bytes) {
    try {
      while (bytes.hasRemaining()) {
        file.write(bytes);
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write a scratch file: " + e.getMessage(), e);
    }
  }

  private void claim(long length) {
    if (length > limit - position) {
      throw ByteReader.malformed("output exceeds its declared size of " + limit + " bytes");
    }
  }
}
