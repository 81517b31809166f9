package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a delta's untrusted bytes. Every read is bounds-checked and every count is checked against
 * a cap before anything is allocated from it; any violation is {@link ErrorCode#PATCH_MALFORMED}.
 */
final class ByteReader {
  private final byte[] bytes;
  private final int end;
  private int pos;

  ByteReader(byte[] bytes) {
    this(bytes, 0, bytes.length);
  }

  ByteReader(byte[] bytes, int offset, int length) {
    this.bytes = bytes;
    this.pos = offset;
    this.end = offset + length;
  }

  int position() {
    return pos;
  }

  int remaining() {
    return end - pos;
  }

  boolean atEnd() {
    return pos == end;
  }

  int u8() {
    need(1);
    return bytes[pos++] & 0xff;
  }

  /** Unsigned LEB128, at most 63 bits. */
  long varint() {
    long value = 0;
    for (int shift = 0; shift < 63; shift += 7) {
      int b = u8();
      value |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
    throw malformed("varint longer than 9 bytes");
  }

  /** A varint in [0, max]; {@code what} names it in the error. */
  long varint(long max, String what) {
    long v = varint();
    if (v > max) {
      throw malformed(what + " " + v + " exceeds " + max);
    }
    return v;
  }

  int varintInt(int max, String what) {
    return (int) varint(max, what);
  }

  /** A zigzag-coded signed varint. */
  long signedVarint() {
    long v = varint();
    return (v >>> 1) ^ -(v & 1);
  }

  byte[] bytes(int length) {
    need(length);
    byte[] out = new byte[length];
    System.arraycopy(bytes, pos, out, 0, length);
    pos += length;
    return out;
  }

  /** A varint length (at most {@code maxLength}) followed by that many bytes of strict UTF-8. */
  String string(int maxLength, String what) {
    int length = varintInt(maxLength, what + " length");
    need(length);
    String s = utf8(bytes, pos, length, what);
    pos += length;
    return s;
  }

  /** Strict UTF-8: malformed input is PATCH_MALFORMED, not silently replaced. */
  static String utf8(byte[] bytes, int offset, int length, String what) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, offset, length))
          .toString();
    } catch (CharacterCodingException e) {
      throw malformed(what + " is not valid UTF-8");
    }
  }

  private void need(int n) {
    if (n < 0 || n > end - pos) {
      throw malformed("truncated: needs " + n + " more bytes, " + (end - pos) + " left");
    }
  }

  static UpgradeException malformed(String why) {
    return new UpgradeException(ErrorCode.PATCH_MALFORMED, "delta is malformed: " + why);
  }
}
