package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Consecutive slices of a decoded stream; running past the end means the delta lies. */
final class StreamCursor {
  /** The whole stream, little-endian, position 0; read with absolute gets. */
  final ByteBuffer bytes;
  private int position;
  private final int end;

  StreamCursor(ByteBuffer bytes, int start, int end) {
    this.bytes = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    this.position = start;
    this.end = end;
  }

  static StreamCursor of(byte[] bytes) {
    return new StreamCursor(ByteBuffer.wrap(bytes), 0, bytes.length);
  }

  /** Consumes {@code n} bytes and returns where they start in {@link #bytes}. */
  int take(int n) {
    int at = peek(n);
    position += n;
    return at;
  }

  /** Checks that {@code n} bytes remain and returns where they start, without consuming them. */
  int peek(int n) {
    if (n < 0 || n > end - position) {
      throw ByteReader.malformed("a stream is shorter than its ops need");
    }
    return position;
  }

  /** A cursor over the next {@code n} bytes, consumed from this one. */
  StreamCursor split(int n) {
    int at = take(n);
    return new StreamCursor(bytes, at, at + n);
  }

  /** The next {@code n} bytes, consumed, as a buffer of their own. */
  ByteBuffer slice(int n) {
    return bytes.slice(take(n), n);
  }

  /** A copy of {@code n} bytes at {@code at} (a header to de-normalize). */
  byte[] copy(int at, int n) {
    byte[] out = new byte[n];
    bytes.get(at, out);
    return out;
  }

  int u16(int at) {
    return bytes.getShort(at) & 0xffff;
  }

  int remaining() {
    return end - position;
  }
}
