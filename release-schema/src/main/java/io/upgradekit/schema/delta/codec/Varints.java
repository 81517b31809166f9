package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Unsigned LEB128 integers (7 bits a byte, low groups first), limited to 63 bits and to their
 * shortest form, so that every value has exactly one encoding; signed values are zigzag-mapped.
 */
final class Varints {
  /** Longest encoding of a value below 2^63. */
  static final int MAX_BYTES = 9;

  private Varints() {}

  interface ByteReader {
    /** The next byte, or -1 at end of input. */
    int read() throws IOException;
  }

  static void write(ByteArrayOutputStream out, long value) {
    if (value < 0) {
      throw new IllegalArgumentException("negative varint " + value);
    }
    while ((value & ~0x7fL) != 0) {
      out.write((int) (value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.write((int) value);
  }

  static long zigzag(long value) {
    return (value << 1) ^ (value >> 63);
  }

  static long unzigzag(long value) {
    return (value >>> 1) ^ -(value & 1);
  }

  /** Encodes a signed value as an unsigned one; only values of 63 bits (or less) fit. */
  static void writeSigned(ByteArrayOutputStream out, long value) {
    if (value < -(1L << 62) || value >= (1L << 62)) {
      throw new IllegalArgumentException("signed varint out of range " + value);
    }
    write(out, zigzag(value));
  }

  /** Reads a value in [0, 2^63); truncated, overlong or non-shortest input is malformed. */
  static long read(ByteReader in, String what) throws IOException {
    long value = 0;
    for (int shift = 0; ; shift += 7) {
      int b = in.read();
      if (b < 0) {
        throw malformed("patch is truncated in " + what);
      }
      value |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && shift > 0) {
          throw malformed("patch has a non-canonical number in " + what);
        }
        return value;
      }
      if (shift == 7 * (MAX_BYTES - 1)) {
        throw malformed("patch has a number that overflows 63 bits in " + what);
      }
    }
  }
}
