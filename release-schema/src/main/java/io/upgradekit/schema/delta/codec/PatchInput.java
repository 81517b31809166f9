package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Buffered reading of a hostile patch: header fields, length-prefixed sections and, as a {@link
 * FrameSource}, the trailing zstd frame. Reads a stream or a buffer (a patch inside a
 * memory-mapped delta). Never assumes a read fills its buffer, and never allocates more than the
 * bytes that have actually arrived; a patch in a buffer is read in place, sections included.
 */
final class PatchInput implements FrameSource {
  private static final int BUFFER_SIZE = 64 * 1024;

  private final InputStream in;
  private final ByteBuffer buffer;
  private boolean ended;

  PatchInput(InputStream in) {
    this.in = in;
    this.buffer = ByteBuffer.wrap(new byte[BUFFER_SIZE]).limit(0);
  }

  /** Reads the buffer's remaining bytes in place; the buffer itself is not moved. */
  PatchInput(ByteBuffer patch) {
    this.in = null;
    this.buffer = patch.slice();
    this.ended = true;
  }

  @Override
  public ByteBuffer buffer() {
    return buffer;
  }

  @Override
  public boolean refill() throws IOException {
    if (ended) {
      return false;
    }
    buffer.compact();
    try {
      if (!buffer.hasRemaining()) {
        return false; // full: callers never need more than BUFFER_SIZE unread bytes at once
      }
      while (true) {
        int n = in.read(buffer.array(), buffer.position(), buffer.remaining());
        if (n < 0) {
          ended = true;
          return false;
        }
        if (n > 0) {
          buffer.position(buffer.position() + n);
          return true;
        }
      }
    } finally {
      buffer.flip();
    }
  }

  /** The next byte, or -1 at end of input. */
  int read() throws IOException {
    if (!buffer.hasRemaining() && !refill()) {
      return -1;
    }
    return buffer.get() & 0xff;
  }

  /** Reads {@code expected.length} bytes and fails unless they equal {@code expected}. */
  void expect(byte[] expected, String what) throws IOException {
    for (byte b : expected) {
      int actual = read();
      if (actual != (b & 0xff)) {
        throw malformed(actual < 0 ? "patch is truncated in its " + what : "patch has a bad " + what);
      }
    }
  }

  long readVarint(String what) throws IOException {
    return Varints.read(this::read, what);
  }

  /**
   * The next {@code length} bytes as a source of their own, a length that the caller has checked
   * against its cap: a slice of a buffered patch (no copy), or the bytes read from a stream.
   */
  FrameSource section(int length, String what) throws IOException {
    if (in != null) {
      return FrameSource.of(readSection(length, what));
    }
    if (length > buffer.remaining()) {
      throw malformed("patch is truncated in its " + what);
    }
    ByteBuffer section = buffer.slice(buffer.position(), length);
    buffer.position(buffer.position() + length);
    return FrameSource.of(section);
  }

  /**
   * Reads a section of {@code length} bytes, a length that the caller has checked against its cap.
   * The array grows as bytes arrive, so a lying length costs no more memory than the patch itself.
   */
  private byte[] readSection(int length, String what) throws IOException {
    byte[] out = new byte[Math.min(length, BUFFER_SIZE)];
    int filled = 0;
    while (filled < length) {
      if (!buffer.hasRemaining() && !refill()) {
        throw malformed("patch is truncated in its " + what);
      }
      if (filled == out.length) {
        out = Arrays.copyOf(out, (int) Math.min(length, 2L * out.length));
      }
      int n = Math.min(buffer.remaining(), out.length - filled);
      buffer.get(out, filled, n);
      filled += n;
    }
    return out;
  }
}
