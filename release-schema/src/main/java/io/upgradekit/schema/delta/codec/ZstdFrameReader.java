package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdDictDecompress;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Streams the content of one hostile zstd frame, never producing more than the size its header
 * records, which must lie within bounds the caller derived from trusted sizes.
 *
 * <p>The header is checked here before zstd sees it: magicless format, no dictionary id, no
 * checksum, a recorded content size within bounds. With the content size known, zstd sizes its
 * window buffer to at most that size, so a frame that claims a 2 GiB window cannot make the decoder
 * allocate it. Output goes straight into the caller's array; the caller's reads, never the frame,
 * decide how much is produced, so a frame that expands to far more than it claims is caught after
 * at most one byte too many (by {@link #finish()}), not after decompressing it all.
 */
final class ZstdFrameReader implements AutoCloseable {
  /**
   * zstd's largest window (2 GiB on 64-bit platforms): the window buffer is bounded by the content
   * size, which is checked, so the window limit need not be tight.
   */
  private static final int MAX_WINDOW_LOG = Zstd.windowLogMax();
  /** zstd returns no progress now and then when a call only moves internal state. */
  private static final int MAX_STALLS = 16;

  private final FrameSource source;
  private final String what;
  private final long contentSize;
  private final ZstdDecompressCtx ctx;
  private long produced;
  private boolean frameDone;

  /**
   * Checks the frame header at the source's position and prepares to decode.
   *
   * @param minSize smallest acceptable content size
   * @param maxSize largest acceptable content size
   * @param dictionary raw-content dictionary the frame was compressed with, or null
   * @param what names the frame in error messages ("the extra stream")
   */
  ZstdFrameReader(
      FrameSource source, long minSize, long maxSize, ZstdDictDecompress dictionary, String what)
      throws IOException {
    this.source = source;
    this.what = what;
    this.contentSize = readHeader(source, minSize, maxSize, what);
    ZstdDecompressCtx created = null;
    try {
      created = new ZstdDecompressCtx();
      created.setMagicless(true);
      created.setLongMax(MAX_WINDOW_LOG);
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

  private static long readHeader(FrameSource source, long minSize, long maxSize, String what)
      throws IOException {
    if (!source.ensure(1)) {
      throw malformed("patch is truncated: " + what + " is missing");
    }
    ByteBuffer in = source.buffer();
    int descriptor = in.get(in.position()) & 0xff;
    int fcsFlag = descriptor >>> 6;
    boolean singleSegment = (descriptor & 0x20) != 0;
    if ((descriptor & 0x08) != 0) {
      throw malformed(what + " has a zstd frame header with the reserved bit set");
    }
    if ((descriptor & 0x04) != 0 || (descriptor & 0x03) != 0) {
      throw malformed(what + " has a zstd frame with a checksum or dictionary id, which patches never use");
    }
    int fcsBytes = fcsFlag == 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
    if (fcsBytes == 0) {
      throw malformed(what + " is a zstd frame that does not record its content size");
    }
    int headerBytes = 1 + (singleSegment ? 0 : 1) + fcsBytes;
    if (!source.ensure(headerBytes)) {
      throw malformed("patch is truncated in the header of " + what);
    }
    in = source.buffer();
    int p = in.position();
    if (!singleSegment && 10 + ((in.get(p + 1) & 0xff) >>> 3) > MAX_WINDOW_LOG) {
      throw malformed(what + " asks for a zstd window larger than 2^" + MAX_WINDOW_LOG);
    }
    long size = 0;
    for (int i = fcsBytes - 1; i >= 0; i--) {
      size = (size << 8) | (in.get(p + headerBytes - fcsBytes + i) & 0xff);
    }
    if (fcsBytes == 2) {
      size += 256;
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
