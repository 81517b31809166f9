package io.upgradekit.schema.delta;

/** Consecutive slices of a decoded stream; running past the end means the delta lies. */
final class StreamCursor {
  final byte[] bytes;
  private int position;
  private final int end;

  StreamCursor(byte[] bytes, int start, int end) {
    this.bytes = bytes;
    this.position = start;
    this.end = end;
  }

  static StreamCursor of(byte[] bytes) {
    return new StreamCursor(bytes, 0, bytes.length);
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

  int remaining() {
    return end - position;
  }
}
