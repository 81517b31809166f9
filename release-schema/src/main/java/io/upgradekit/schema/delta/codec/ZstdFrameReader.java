package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdDictDecompress;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Streams the content of one hostile zstd frame, never producing more than the size its header
 * records, which must lie within bounds the caller derived from trusted sizes.
 *
 * <p>The header is parsed here before zstd sees it: the magic number (for standard frames) or the
 * magicless format (for patches), no dictionary id, no checksum, a recorded content size within
 * bounds, and a window of at most {@link #MAX_WINDOW} bytes (a single-segment frame's window is
 * its content size). A larger claim is refused before decompression starts, and every context is
 * also limited to that window by zstd itself ({@code ZSTD_d_windowLogMax}), so zstd's buffers are
 * at most the window plus two blocks, whatever the frame claims. Output goes straight into the
 * caller's array; the caller's reads, never the frame, decide how much is produced, so a frame that
 * expands to far more than it claims is caught after at most one byte too many (by {@link
 * #finish()}), not after decompressing it all.
 */
final class ZstdFrameReader implements AutoCloseable {
  /**
   * Largest window a frame may ask for, 2^27 (128 MiB): zstd's own default decoder limit and the
   * most our encoder uses (patch-from caps its window there, see {@link ZstdPatchFrom}; the
   * default levels stay below). docs/delta-format.md documents it.
   */
  static final int MAX_WINDOW_LOG = 27;
  static final long MAX_WINDOW = 1L << MAX_WINDOW_LOG;
  /** The magic number that starts a standard (not magicless) frame, little-endian. */
  static final int MAGIC = 0xFD2FB528;
  /** zstd returns no progress now and then when a call only moves internal state. */
  private static final int MAX_STALLS = 16;

  private final FrameSource source;
  private final String what;
  private final long contentSize;
  private final ZstdDecompressCtx ctx;
  private long produced;
  private boolean frameDone;

  /**
   * Checks the magicless frame header at the source's position and prepares to decode.
   *
   * @param minSize smallest acceptable content size
   * @param maxSize largest acceptable content size
   * @param dictionary raw-content dictionary the frame was compressed with, or null
   * @param what names the frame in error messages ("the extra stream")
   */
  ZstdFrameReader(
      FrameSource source, long minSize, long maxSize, ZstdDictDecompress dictionary, String what)
      throws IOException {
    this(source, false, minSize, maxSize, dictionary, what);
  }

  /**
   * As above; {@code magic} for a standard frame, which starts with {@link #MAGIC}.
   */
  ZstdFrameReader(FrameSource source, boolean magic, long minSize, long maxSize, ZstdDictDecompress dictionary,
      String what) throws IOException {
    this.source = source;
    this.what = what;
    this.contentSize = readHeader(source, magic, minSize, maxSize, what);
    ZstdDecompressCtx created = null;
    try {
      created = newContext(!magic);
      if (dictionary != null) {
        created.loadDict(dictionary);
      }
    } catch (RuntimeException e) {
      if (created != null) {
        created.close();
      }
      throw malformed("cannot set up zstd to read " + what + ": " + e.getMessage(), e);
    }
    this.ctx = created;
  }

  /** A decompression context that refuses windows above {@link #MAX_WINDOW}; the caller closes it. */
  static ZstdDecompressCtx newContext(boolean magicless) {
    ZstdDecompressCtx ctx = new ZstdDecompressCtx();
    try {
      ctx.setMagicless(magicless);
      ctx.setLongMax(MAX_WINDOW_LOG);
      return ctx;
    } catch (RuntimeException e) {
      ctx.close();
      throw e;
    }
  }

  /**
   * Parses a frame header (RFC 8878 section 3.1.1.1) without consuming it: the content size it
   * records, after checking everything above.
   */
  static long readHeader(FrameSource source, boolean magic, long minSize, long maxSize, String what)
      throws IOException {
    int at = magic ? 4 : 0;
    if (!source.ensure(at + 1)) {
      throw malformed("patch is truncated: " + what + " is missing");
    }
    ByteBuffer in = source.buffer();
    int p = in.position();
    if (magic && in.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(p) != MAGIC) {
      throw malformed(what + " is not a zstd frame (wrong magic number)");
    }
    int descriptor = in.get(p + at) & 0xff;
    int fcsFlag = descriptor >>> 6;
    boolean singleSegment = (descriptor & 0x20) != 0;
    if ((descriptor & 0x08) != 0) {
      throw malformed(what + " has a zstd frame header with the reserved bit set");
    }
    if ((descriptor & 0x04) != 0 || (descriptor & 0x03) != 0) {
      throw malformed(what + " has a zstd frame with a checksum or dictionary id, which deltas never use");
    }
    int fcsBytes = fcsFlag == 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
    if (fcsBytes == 0) {
      throw malformed(what + " is a zstd frame that does not record its content size");
    }
    int headerBytes = at + 1 + (singleSegment ? 0 : 1) + fcsBytes;
    if (!source.ensure(headerBytes)) {
      throw malformed("patch is truncated in the header of " + what);
    }
    in = source.buffer();
    p = in.position();
    long size = 0;
    for (int i = fcsBytes - 1; i >= 0; i--) {
      size = (size << 8) | (in.get(p + headerBytes - fcsBytes + i) & 0xff);
    }
    if (fcsBytes == 2) {
      size += 256;
    }
    // A single-segment frame's window is its whole content; otherwise the window descriptor says.
    long window = size;
    if (!singleSegment) {
      int windowDescriptor = in.get(p + at + 1) & 0xff;
      long base = 1L << (10 + (windowDescriptor >>> 3));
      window = base + (base / 8) * (windowDescriptor & 7);
    }
    if (window < 0 || window > MAX_WINDOW) {
      throw malformed(what + " asks for a zstd window of " + Long.toUnsignedString(window) + " bytes, more than "
          + "the 2^" + MAX_WINDOW_LOG + " that deltas may use");
    }
    if (size < minSize || size > maxSize || size < 0) {
      throw malformed(
          what + " claims " + Long.toUnsignedString(size) + " bytes; expected "
              + (minSize == maxSize ? String.valueOf(minSize) : minSize + " to " + maxSize));
    }
    return size;
  }

  /** The content size recorded in the header, which this reader produces exactly. */
  long contentSize() {
    return contentSize;
  }

  /** Bytes of content not yet read. */
  long remaining() {
    return contentSize - produced;
  }

  /**
   * Reads up to {@code len} bytes of content: at least one unless {@code len} is 0, or -1 once all
   * of the content size has been read.
   */
  int read(byte[] b, int off, int len) throws IOException {
    long left = contentSize - produced;
    if (left == 0) {
      return -1;
    }
    int want = (int) Math.min(len, left);
    if (want == 0) {
      return 0;
    }
    ByteBuffer out = ByteBuffer.wrap(b, off, want);
    int stalls = 0;
    while (out.position() == off) {
      if (frameDone) {
        throw malformed(what + " ends before the size its header claims");
      }
      ByteBuffer in = source.buffer();
      if (!in.hasRemaining() && !source.refill()) {
        throw malformed("patch is truncated in " + what);
      }
      int before = in.position();
      frameDone = decompress(out, in);
      if (in.position() == before && out.position() == off && !frameDone && ++stalls > MAX_STALLS) {
        throw malformed(what + " makes zstd stall");
      }
    }
    int n = out.position() - off;
    produced += n;
    return n;
  }

  /** Reads exactly {@code len} bytes of content. */
  void readFully(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = read(b, off, len);
      if (n < 0) {
        throw malformed(what + " is shorter than the control data needs");
      }
      off += n;
      len -= n;
    }
  }

  /**
   * Checks that all content was read and that the frame ends right there. Does not check what
   * follows the frame; that is the caller's format.
   */
  void finish() throws IOException {
    if (produced != contentSize) {
      throw malformed(what + " has " + (contentSize - produced) + " bytes that the patch never uses");
    }
    ByteBuffer probe = ByteBuffer.allocate(1);
    int stalls = 0;
    while (!frameDone) {
      ByteBuffer in = source.buffer();
      if (!in.hasRemaining() && !source.refill()) {
        throw malformed("patch is truncated at the end of " + what);
      }
      int before = in.position();
      frameDone = decompress(probe, in);
      if (probe.position() > 0) {
        throw malformed(what + " holds more than the " + contentSize + " bytes its header claims");
      }
      if (in.position() == before && !frameDone && ++stalls > MAX_STALLS) {
        throw malformed(what + " makes zstd stall");
      }
    }
  }

  private boolean decompress(ByteBuffer out, ByteBuffer in) {
    try {
      return ctx.decompressByteBufferStream(out, in);
    } catch (UpgradeException e) {
      throw e;
    } catch (RuntimeException e) {
      // ZstdException for corrupt data; anything else from the native side is treated alike.
      throw malformed(what + " is not valid zstd data: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    ctx.close();
  }
}
