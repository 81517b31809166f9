package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import com.github.luben.zstd.ZstdDictContentType;
import com.github.luben.zstd.ZstdDictDecompress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * zstd with the old file as reference, the effect of {@code zstd --patch-from=old}: one zstd frame
 * of the new file, compressed with the old file loaded as a raw-content dictionary and a window
 * large enough to reach back over old and new, with long-distance matching.
 *
 * <p>zstd-jni offers no {@code refPrefix}, which the command line uses; a raw-content dictionary
 * is decoded the same way, and compresses within a few percent of the command line for references
 * up to about 20 MB, but far worse above (an 86 MB reference gave 76.6 MB instead of 11.0 MB).
 * {@link FileCodec} therefore offers this method only for old files up to {@link #MAX_OLD_SIZE}.
 *
 * <p>The patch is one frame as described in {@link PatchMethod}. Decoding references old in place
 * when it is a direct (for example memory-mapped) buffer; otherwise zstd copies it into native
 * memory. Thread-safe: all state is per call.
 */
public final class ZstdPatchFrom {
  /** Largest old file that {@link FileCodec} tries this method for: 16 MiB. */
  public static final int MAX_OLD_SIZE = 16 << 20;

  /** The level used by {@link #encode(byte[], byte[])}. */
  public static final int DEFAULT_LEVEL = 19;

  /** The decoders' window cap ({@link ZstdFrameReader#MAX_WINDOW_LOG}), also zstd's default limit. */
  private static final int MAX_WINDOW_LOG = ZstdFrameReader.MAX_WINDOW_LOG;

  private ZstdPatchFrom() {}

  /**
   * Encodes new with old as reference at {@link #DEFAULT_LEVEL}.
   *
   * @param oldBytes the reference, the file the patch will be applied to
   * @param newBytes the file the patch produces
   * @return the patch, for {@link #decode}
   */
  public static byte[] encode(byte[] oldBytes, byte[] newBytes) {
    return encode(oldBytes, newBytes, DEFAULT_LEVEL);
  }

  /**
   * Encodes new with old as reference. Works for any old size, but see the class comment for why
   * references above {@link #MAX_OLD_SIZE} give poor patches.
   *
   * @param oldBytes the reference, the file the patch will be applied to
   * @param newBytes the file the patch produces
   * @param level zstd level, 1 to 22
   * @return the patch, for {@link #decode}
   */
  public static byte[] encode(byte[] oldBytes, byte[] newBytes, int level) {
    Objects.requireNonNull(oldBytes, "oldBytes");
    Objects.requireNonNull(newBytes, "newBytes");
    return ZstdFrameWriter.compress(newBytes, level, oldBytes, windowLog(oldBytes.length, newBytes.length));
  }

  /** The smallest window that covers old and new, so matches reach the start of old. */
  static int windowLog(long oldSize, long newSize) {
    long span = Math.max(1, oldSize + newSize);
    int log = 64 - Long.numberOfLeadingZeros(span - 1);
    return Math.max(10, Math.min(MAX_WINDOW_LOG, log));
  }

  /**
   * Writes the file that {@code patch} makes from {@code oldBytes}; see {@link FileCodec#decode}
   * for the contract.
   *
   * @param oldBytes the installed version, between position and limit; not modified or moved
   * @param patch the patch, bounded by the caller; hostile
   * @param expectedSize size of the file to produce, from signed metadata
   * @param out receives exactly {@code expectedSize} bytes on success
   * @throws io.upgradekit.schema.UpgradeException {@code PATCH_MALFORMED} for any malformed patch
   * @throws IOException if writing {@code out} or reading {@code patch} fails
   */
  public static void decode(ByteBuffer oldBytes, InputStream patch, long expectedSize, OutputStream out)
      throws IOException {
    Objects.requireNonNull(patch, "patch");
    decode(oldBytes, new PatchInput(patch), expectedSize, out);
  }

  static void decode(ByteBuffer oldBytes, PatchInput patch, long expectedSize, OutputStream out)
      throws IOException {
    Objects.requireNonNull(oldBytes, "oldBytes");
    if (oldBytes.remaining() == 0) {
      // zstd rejects an empty dictionary; a frame made against empty old needs none.
      ZstdFull.decode(patch, expectedSize, out, null);
      return;
    }
    try (ZstdDictDecompress dictionary = rawDictionary(oldBytes)) {
      ZstdFull.decode(patch, expectedSize, out, dictionary);
    }
  }

  /** Old as a zstd raw-content dictionary, by reference where possible; the caller closes it. */
  static ZstdDictDecompress rawDictionary(ByteBuffer old) {
    ByteBuffer view = old.duplicate();
    try {
      if (view.isDirect()) {
        // By reference: a mapped old file is neither copied nor paged in up front.
        return new ZstdDictDecompress(view, true, ZstdDictContentType.RAW_CONTENT);
      }
      if (view.hasArray()) {
        return new ZstdDictDecompress(
            view.array(), view.arrayOffset() + view.position(), view.remaining(),
            ZstdDictContentType.RAW_CONTENT);
      }
      // A read-only heap buffer: copy outside the Java heap, where zstd wants it anyway.
      ByteBuffer copy = ByteBuffer.allocateDirect(view.remaining());
      copy.put(view).flip();
      return new ZstdDictDecompress(copy, false, ZstdDictContentType.RAW_CONTENT);
    } catch (RuntimeException e) {
      throw malformed("cannot load the old file as zstd reference: " + e.getMessage(), e);
    }
  }
}
