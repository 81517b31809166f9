package io.upgradekit.schema.delta.codec;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Compressed bytes for a {@link ZstdFrameReader}: an array-backed buffer in read mode (unread bytes
 * between position and limit) that can be topped up.
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
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
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
