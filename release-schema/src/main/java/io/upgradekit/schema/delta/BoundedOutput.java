package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Where rebuilt bytes go: a stream (a file being written) or memory, never past a limit that
 * comes from a signed size or a cap. Writing past it means the delta lies: PATCH_MALFORMED.
 * Failures of the underlying stream become IO_ERROR, so they are not mistaken for bad input.
 */
final class BoundedOutput extends OutputStream {
  private final OutputStream out;
  private final long limit;
  private long position;
  private byte[] memory;

  /** Writes to {@code out}, at most {@code limit} bytes. */
  BoundedOutput(OutputStream out, long limit) {
    this.out = out;
    this.limit = limit;
  }

  /** Collects at most {@code limit} bytes in memory; see {@link #toByteArray()}. */
  static BoundedOutput inMemory(long limit) {
    BoundedOutput o = new BoundedOutput(null, limit);
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
    if (memory != null) {
      if (position + length > memory.length) {
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

  byte[] toByteArray() {
    return Arrays.copyOf(memory, (int) position);
  }

  private void claim(long length) {
    if (length > limit - position) {
      throw ByteReader.malformed("output exceeds its declared size of " + limit + " bytes");
    }
  }
}
