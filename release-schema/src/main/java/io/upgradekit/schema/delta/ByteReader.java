package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a delta's untrusted bytes, from memory or streamed from a source (a delta's index, as its
 * zstd frame decodes). Every read is bounds-checked and every count is checked against a cap before
 * anything is allocated from it; any violation is {@link ErrorCode#PATCH_MALFORMED}. A streamed
 * reader holds at most {@link #WINDOW} bytes of its source at a time.
 */
final class ByteReader {
  /** Largest field a streamed reader can take at once; callers' caps are far below it. */
  static final int WINDOW = 64 * 1024;

  private final byte[] bytes;
  private final InputStream source;
  private int end;
  private int pos;
  private boolean sourceEnded;

  ByteReader(byte[] bytes) {
    this(bytes, 0, bytes.length);
  }

  ByteReader(byte[] bytes, int offset, int length) {
    this.bytes = bytes;
    this.pos = offset;
    this.end = offset + length;
    this.source = null;
  }

  /** Reads {@code source} as it goes; reading past its end is truncation. */
  ByteReader(InputStream source) {
    this.bytes = new byte[WINDOW];
    this.source = source;
  }

  /** True once every byte has been read (for a stream: and the stream has ended). */
  boolean atEnd() {
    return pos == end && !fill(1);
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
    if (n < 0 || (n > end - pos && !fill(n))) {
      throw malformed("truncated: needs " + n + " more bytes, " + (end - pos) + " left");
    }
  }

  /** Tops a streamed reader up to at least {@code n} unread bytes; false if the source ends first. */
  private boolean fill(int n) {
    if (source == null || n > bytes.length) {
      return false;
    }
    if (end - pos >= n) {
      return true;
    }
    System.arraycopy(bytes, pos, bytes, 0, end - pos);
    end -= pos;
    pos = 0;
    while (end < n && !sourceEnded) {
      int k;
      try {
        k = source.read(bytes, end, bytes.length - end);
      } catch (IOException e) {
        throw malformed("cannot be read: " + e.getMessage());
      }
      if (k < 0) {
        sourceEnded = true;
      } else {
        end += k;
      }
    }
    return end >= n;
  }

  static UpgradeException malformed(String why) {
    return new UpgradeException(ErrorCode.PATCH_MALFORMED, "delta is malformed: " + why);
  }
}
