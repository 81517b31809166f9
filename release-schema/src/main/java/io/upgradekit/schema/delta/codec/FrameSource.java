package io.upgradekit.schema.delta.codec;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Compressed bytes for a {@link ZstdFrameReader}: an array-backed or direct (for example
 * memory-mapped) buffer in read mode (unread bytes between position and limit) that can be topped
 * up.
 */
interface FrameSource {
  ByteBuffer buffer();

  /** Adds at least one byte to {@link #buffer()}, keeping unread ones; false at end of input. */
  boolean refill() throws IOException;

  /** Tops the buffer up until it holds at least n unread bytes; false if the input ends first. */
  default boolean ensure(int n) throws IOException {
    while (buffer().remaining() < n) {
      if (!refill()) {
        return false;
      }
    }
    return true;
  }

  /** True if every byte has been consumed and the input has ended. */
  default boolean atEnd() throws IOException {
    return !buffer().hasRemaining() && !refill();
  }

  /** A source over bytes already in memory. */
  static FrameSource of(byte[] bytes) {
    return of(ByteBuffer.wrap(bytes));
  }

  /** A source over a buffer's remaining bytes, read in place (a mapped file is not copied). */
  static FrameSource of(ByteBuffer bytes) {
    ByteBuffer buffer = bytes.slice();
    return new FrameSource() {
      @Override
      public ByteBuffer buffer() {
        return buffer;
      }

      @Override
      public boolean refill() {
        return false;
      }
    };
  }
}
