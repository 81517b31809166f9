package io.upgradekit.schema.delta.codec;

import static io.upgradekit.schema.delta.codec.Malformed.malformed;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * Encodes one changed file against its predecessor and decodes such patches: the per-file layer of
 * the delta engine. The tree engine decides which files to pair; this class picks, per pair, the
 * smallest of the {@link PatchMethod}s.
 *
 * <p>Encoding works on byte arrays and is for the release builder: a 92 MB file pair takes about
 * 30 CPU seconds and 1 GB of memory, so {@code -Xmx2g} covers files up to about 100 MB. Decoding
 * is for nodes: it reads old in place from a {@link ByteBuffer}, streams the result, needs a few
 * hundred kilobytes of heap whatever the file size (a 48 MiB file decodes in a 32 MiB heap), and
 * treats the patch as hostile.
 *
 * <p>Thread-safe: calls share no state, so files can be encoded and decoded in parallel.
 */
public final class FileCodec {
  private static final Set<PatchMethod> ALL = EnumSet.allOf(PatchMethod.class);

  private FileCodec() {}

  /**
   * Tries every method that applies and returns the smallest patch. With an empty old file only
   * {@link PatchMethod#ZSTD} applies; {@link PatchMethod#ZSTD_PATCH_FROM} applies to old files of
   * at most {@link ZstdPatchFrom#MAX_OLD_SIZE}; {@link PatchMethod#BSDIFF_ZSTD} to any non-empty
   * old file.
   *
   * @param oldBytes the installed version of the file, possibly empty
   * @param newBytes the version to produce
   * @return the smallest patch and the method that decodes it
   */
  public static EncodedPatch encode(byte[] oldBytes, byte[] newBytes) {
    return encode(oldBytes, newBytes, ALL);
  }

  /**
   * Tries every allowed method that applies (see {@link #encode(byte[], byte[])}) and returns the
   * smallest patch; on equal sizes the method that is cheaper to decode wins ({@code ZSTD}, then
   * {@code ZSTD_PATCH_FROM}, then {@code BSDIFF_ZSTD}). If none of the allowed methods applies, all
   * of them are tried anyway: each still produces a correct patch, only not a small one.
   *
   * <p>One shortcut keeps large files fast: plain {@code ZSTD} is first compressed at a quick
   * level, and its slow default level runs only if that result is less than twice the best delta
   * so far. Beyond that it could win by little at most, since the deltas compress whatever new
   * does not share with old at that same slow level; and a 90 MB file is spared half a minute of
   * compressing it for nothing.
   *
   * @param oldBytes the installed version of the file, possibly empty
   * @param newBytes the version to produce
   * @param allowed methods to choose from, not empty; for example only {@code BSDIFF_ZSTD} to
   *     measure bsdiff alone
   * @return the smallest patch among the allowed methods, and the method that decodes it
   * @throws IllegalArgumentException if {@code allowed} is empty
   */
  public static EncodedPatch encode(byte[] oldBytes, byte[] newBytes, Set<PatchMethod> allowed) {
    Objects.requireNonNull(oldBytes, "oldBytes");
    Objects.requireNonNull(newBytes, "newBytes");
    Objects.requireNonNull(allowed, "allowed");
    if (allowed.isEmpty()) {
      throw new IllegalArgumentException("no patch method allowed: allow at least ZSTD");
    }
    Set<PatchMethod> candidates = EnumSet.noneOf(PatchMethod.class);
    for (PatchMethod method : allowed) {
      if (applies(method, oldBytes.length)) {
        candidates.add(method);
      }
    }
    if (candidates.isEmpty()) {
      candidates.addAll(allowed);
    }
    EncodedPatch best = null;
    // Deltas first: when one is small, plain zstd at a high level need not run at all.
    for (PatchMethod method : new PatchMethod[] {PatchMethod.BSDIFF_ZSTD, PatchMethod.ZSTD_PATCH_FROM}) {
      if (candidates.contains(method)) {
        best = better(best, new EncodedPatch(method, encodeWith(method, oldBytes, newBytes)));
      }
    }
    if (candidates.contains(PatchMethod.ZSTD)) {
      if (best == null) {
        return new EncodedPatch(PatchMethod.ZSTD, encodeWith(PatchMethod.ZSTD, oldBytes, newBytes));
      }
      byte[] quick = ZstdFull.encode(newBytes, ZstdFull.QUICK_LEVEL);
      if (quick.length <= best.size()) {
        best = new EncodedPatch(PatchMethod.ZSTD, quick);
      }
      if (quick.length < 2L * best.size()) {
        best = better(best, new EncodedPatch(PatchMethod.ZSTD, encodeWith(PatchMethod.ZSTD, oldBytes, newBytes)));
      }
    }
    return best;
  }

  /** The smaller patch; on equal sizes the one cheaper to decode (lower in decode cost order). */
  private static EncodedPatch better(EncodedPatch a, EncodedPatch b) {
    if (a == null || b.size() < a.size()) {
      return b;
    }
    if (b.size() == a.size() && decodeCost(b.method()) < decodeCost(a.method())) {
      return b;
    }
    return a;
  }

  private static int decodeCost(PatchMethod method) {
    switch (method) {
      case ZSTD:
        return 0;
      case ZSTD_PATCH_FROM:
        return 1;
      case BSDIFF_ZSTD:
        return 2;
      default:
        throw new AssertionError(method);
    }
  }

  private static boolean applies(PatchMethod method, int oldSize) {
    switch (method) {
      case ZSTD:
        return true;
      case ZSTD_PATCH_FROM:
        return oldSize > 0 && oldSize <= ZstdPatchFrom.MAX_OLD_SIZE;
      case BSDIFF_ZSTD:
        return oldSize > 0;
      default:
        throw new AssertionError(method);
    }
  }

  private static byte[] encodeWith(PatchMethod method, byte[] oldBytes, byte[] newBytes) {
    switch (method) {
      case ZSTD:
        return ZstdFull.encode(newBytes, ZstdFull.DEFAULT_LEVEL);
      case ZSTD_PATCH_FROM:
        return ZstdPatchFrom.encode(oldBytes, newBytes);
      case BSDIFF_ZSTD:
        return Bsdiff.encode(oldBytes, newBytes);
      default:
        throw new AssertionError(method);
    }
  }

  /**
   * Writes exactly expectedSize reconstructed bytes to out. old is read-only (may be a mapped
   * file, so never assume hasArray()). patch is already bounded by the caller (it will not read
   * past the patch), but its content is hostile. Throws UpgradeException(PATCH_MALFORMED) for
   * anything malformed, including producing fewer or more than expectedSize bytes. IOException
   * only from out.
   *
   * <p>Old is the bytes between {@code oldBytes}' position and limit; the buffer's position, limit
   * and contents are left alone, and it must not change during the call. Everything read from the
   * patch is checked before use: lengths against {@code expectedSize}, old's size and caps before
   * anything is allocated for them, zstd frames against the sizes they must produce. Heap use is a
   * few fixed buffers plus, for {@link PatchMethod#BSDIFF_ZSTD}, the compressed control and diff
   * streams; zstd's native window is bounded by {@code expectedSize}.
   *
   * <p>Output is streamed, so {@code out} may have received bytes when an exception is thrown:
   * write to a temporary file and discard it on failure. An {@link IOException} thrown by {@code
   * patch} itself (the caller's stream, not its content) is passed on unchanged.
   *
   * @param method how the patch was encoded, from the delta
   * @param oldBytes the installed version of the file
   * @param patch the patch bytes, ending where the patch ends; not closed
   * @param expectedSize size of the file to produce, from signed metadata
   * @param out receives exactly {@code expectedSize} bytes on success; not closed or flushed
   * @throws UpgradeException with {@link ErrorCode#PATCH_MALFORMED} if the patch is malformed,
   *     truncated, followed by extra bytes, or produces other than {@code expectedSize} bytes
   * @throws IOException if writing to {@code out} (or reading {@code patch}) fails
   * @throws IllegalArgumentException if {@code expectedSize} is negative
   */
  public static void decode(
      PatchMethod method, ByteBuffer oldBytes, InputStream patch, long expectedSize, OutputStream out)
      throws IOException {
    Objects.requireNonNull(patch, "patch");
    decode(method, oldBytes, new PatchInput(patch), expectedSize, out);
  }

  /**
   * As {@link #decode(PatchMethod, ByteBuffer, InputStream, long, OutputStream)}, for a patch held
   * in a buffer (for example a slice of a memory-mapped delta), which is read in place: its
   * sections are not copied onto the heap, so heap use is a few fixed buffers whatever the patch
   * holds.
   *
   * @param patch the patch, exactly its remaining bytes; neither modified nor moved
   */
  public static void decode(
      PatchMethod method, ByteBuffer oldBytes, ByteBuffer patch, long expectedSize, OutputStream out)
      throws IOException {
    Objects.requireNonNull(patch, "patch");
    decode(method, oldBytes, new PatchInput(patch), expectedSize, out);
  }

  private static void decode(
      PatchMethod method, ByteBuffer oldBytes, PatchInput patch, long expectedSize, OutputStream out)
      throws IOException {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(oldBytes, "oldBytes");
    Objects.requireNonNull(out, "out");
    if (expectedSize < 0) {
      throw new IllegalArgumentException("expectedSize " + expectedSize + " is negative");
    }
    try {
      switch (method) {
        case BSDIFF_ZSTD:
          Bsdiff.decode(oldBytes, patch, expectedSize, out);
          break;
        case ZSTD_PATCH_FROM:
          ZstdPatchFrom.decode(oldBytes, patch, expectedSize, out);
          break;
        case ZSTD:
          ZstdFull.decode(patch, expectedSize, out, null);
          break;
        default:
          throw new AssertionError(method);
      }
    } catch (UpgradeException e) {
      throw e;
    } catch (RuntimeException e) {
      // The decoders check everything they read; reaching this is a bug, but the contract holds.
      throw malformed("patch could not be decoded (" + e + ")", e);
    }
  }
}
