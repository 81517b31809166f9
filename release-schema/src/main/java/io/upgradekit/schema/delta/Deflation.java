package io.upgradekit.schema.delta;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Raw (nowrap) deflate and inflate with the JDK's zlib, as zip entries use them. */
final class Deflation {
  /** Levels in the order the builder tries them: the JDK default first, then the rest. */
  private static final int[] LEVEL_ORDER = {6, 9, 1, 2, 3, 4, 5, 7, 8};

  private static volatile int fingerprint;

  private Deflation() {}

  /**
   * A CRC-32 of this JVM's deflater output for a fixed sample at every level (never 0). Deflaters
   * built on other zlib variants (zlib-ng, hardware-assisted ones) give another value, so a node
   * can tell before it starts that it cannot re-deflate entries the way the builder did.
   */
  static int fingerprint() {
    int f = fingerprint;
    if (f == 0) {
      StringBuilder text = new StringBuilder();
      long x = 1;
      for (int i = 0; i < 400; i++) {
        x = x * 6364136223846793005L + 1442695040888963407L;
        text.append("entry ").append(i).append(" value=").append(x >>> 40).append(" the quick brown fox\n");
      }
      byte[] sample = text.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      CRC32 crc = new CRC32();
      for (int level = 1; level <= 9; level++) {
        crc.update(deflate(sample, 0, sample.length, level, Integer.MAX_VALUE));
      }
      f = (int) crc.getValue() | 1;
      fingerprint = f;
    }
    return f;
  }

  /**
   * Inflates a raw deflate stream that must decode to exactly {@code size} bytes and use all of its
   * input; returns null otherwise (or when {@code size} exceeds {@code cap}). Memory grows with
   * the bytes that actually come out, not with the size the zip declares.
   */
  static byte[] inflate(ByteBuffer raw, long size, long cap) {
    if (size < 0 || size > cap || size > Integer.MAX_VALUE - 8) {
      return null;
    }
    BoundedOutput out = BoundedOutput.inMemory(size);
    return inflateTo(raw, size, out) ? out.toByteArray() : null;
  }

  /**
   * Inflates a raw deflate stream onto {@code out}; true if it decoded to exactly {@code size}
   * bytes and used all of its input (then {@code out} holds them), false otherwise.
   */
  static boolean inflateTo(ByteBuffer raw, long size, BoundedOutput out) {
    if (size < 0 || size > out.remaining()) {
      return false;
    }
    Inflater inflater = new Inflater(true);
    try {
      inflater.setInput(raw.duplicate());
      byte[] chunk = new byte[(int) Math.min(64 * 1024, Math.max(1, size))];
      long n = 0;
      int stalls = 0;
      while (!inflater.finished()) {
        if (n == size) {
          // All expected bytes are out: the stream must end here (a final empty block may remain).
          if (inflater.inflate(chunk, 0, 1) != 0 || !inflater.finished()) {
            return false;
          }
          break;
        }
        int k = inflater.inflate(chunk, 0, (int) Math.min(chunk.length, size - n));
        if (k == 0 && (inflater.needsInput() || inflater.needsDictionary() || ++stalls > 4)) {
          return false;
        }
        out.write(chunk, 0, k);
        n += k;
      }
      return n == size && inflater.getRemaining() == 0;
    } catch (DataFormatException e) {
      return false;
    } finally {
      inflater.end();
    }
  }

  /**
   * Deflates {@code content}'s remaining bytes at {@code level}, raw (nowrap), in one stream, into
   * a {@code scratch} buffer; null if the result would exceed {@code cap} bytes.
   */
  static ByteBuffer deflate(ByteBuffer content, int level, long cap, Scratch scratch) {
    Deflater deflater = new Deflater(level, true);
    try {
      deflater.setInput(content.duplicate());
      deflater.finish();
      BoundedOutput out = scratch.buffer(cap);
      byte[] chunk = new byte[64 * 1024];
      while (!deflater.finished()) {
        int n = deflater.deflate(chunk);
        if (n > out.remaining()) {
          return null;
        }
        out.write(chunk, 0, n);
      }
      return out.toBuffer();
    } finally {
      deflater.end();
    }
  }

  /** Deflates {@code content[offset, offset+length)} at {@code level}, raw (nowrap), in one stream. */
  static byte[] deflate(byte[] content, int offset, int length, int level, long cap) {
    Deflater deflater = new Deflater(level, true);
    try {
      deflater.setInput(content, offset, length);
      deflater.finish();
      byte[] out = new byte[(int) Math.min(cap, Math.max(64, length / 2 + 64))];
      int n = 0;
      while (!deflater.finished()) {
        if (n == out.length) {
          if (out.length >= cap) {
            return null;
          }
          out = Arrays.copyOf(out, (int) Math.min(cap, (long) out.length * 2));
        }
        n += deflater.deflate(out, n, out.length - n);
      }
      return n == out.length ? out : Arrays.copyOf(out, n);
    } finally {
      deflater.end();
    }
  }

  /**
   * The level (1-9) at which this JDK's deflater turns {@code content} into exactly {@code raw},
   * trying {@code hint} first; -1 when none does. Each try stops at the first differing byte.
   */
  static int detectLevel(byte[] content, ByteBuffer raw, int hint) {
    if (hint >= 1 && hint <= 9 && deflatesTo(content, raw, hint)) {
      return hint;
    }
    for (int level : LEVEL_ORDER) {
      if (level != hint && deflatesTo(content, raw, level)) {
        return level;
      }
    }
    return -1;
  }

  private static boolean deflatesTo(byte[] content, ByteBuffer raw, int level) {
    Deflater deflater = new Deflater(level, true);
    try {
      deflater.setInput(content);
      deflater.finish();
      byte[] chunk = new byte[Math.min(64 * 1024, raw.remaining() + 16)];
      int compared = 0;
      int base = raw.position();
      int total = raw.remaining();
      while (!deflater.finished()) {
        int n = deflater.deflate(chunk);
        if (compared + n > total) {
          return false;
        }
        if (raw.slice(base + compared, n).mismatch(ByteBuffer.wrap(chunk, 0, n)) != -1) {
          return false;
        }
        compared += n;
      }
      return compared == total;
    } finally {
      deflater.end();
    }
  }

  static long crc32(byte[] b, int offset, int length) {
    CRC32 crc = new CRC32();
    crc.update(b, offset, length);
    return crc.getValue();
  }

  static long crc32(ByteBuffer b) {
    CRC32 crc = new CRC32();
    crc.update(b.duplicate());
    return crc.getValue();
  }
}
