package io.upgradekit.schema.delta;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte buffer with the encodings {@link ByteReader} reads. */
final class ByteWriter {
  private byte[] bytes;
  private int size;

  ByteWriter() {
    this(256);
  }

  ByteWriter(int capacity) {
    bytes = new byte[Math.max(16, capacity)];
  }

  int size() {
    return size;
  }

  ByteWriter u8(int b) {
    ensure(1);
    bytes[size++] = (byte) b;
    return this;
  }

  ByteWriter varint(long value) {
    if (value < 0) {
      throw new IllegalArgumentException("negative varint " + value);
    }
    while ((value & ~0x7fL) != 0) {
      u8((int) ((value & 0x7f) | 0x80));
      value >>>= 7;
    }
    return u8((int) value);
  }

  ByteWriter signedVarint(long value) {
    return varint((value << 1) ^ (value >> 63));
  }

  ByteWriter bytes(byte[] b) {
    return bytes(b, 0, b.length);
  }

  ByteWriter bytes(byte[] b, int offset, int length) {
    ensure(length);
    System.arraycopy(b, offset, bytes, size, length);
    size += length;
    return this;
  }

  ByteWriter string(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    varint(utf8.length);
    return bytes(utf8);
  }

  byte[] toByteArray() {
    return Arrays.copyOf(bytes, size);
  }

  private void ensure(int n) {
    if (size + n > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
    }
  }
}
