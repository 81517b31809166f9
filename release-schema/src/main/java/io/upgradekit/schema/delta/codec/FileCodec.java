package io.upgradekit.schema.delta.codec;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Set;

/**
 * Temporary plain-zstd stand-in with the codec branch's API, so the tree engine builds before the
 * real codecs (bsdiff+zstd) are merged. The codec branch's version replaces this file.
 */
public final class FileCodec {
  private static final int LEVEL = 19;
  private static final int WINDOW_LOG_MAX = 27;

  private FileCodec() {}

  public static EncodedPatch encode(byte[] oldBytes, byte[] newBytes) {
    return encode(oldBytes, newBytes, EnumSet.allOf(PatchMethod.class));
  }

  public static EncodedPatch encode(byte[] oldBytes, byte[] newBytes, Set<PatchMethod> allowed) {
    EncodedPatch best = null;
    if (allowed.contains(PatchMethod.ZSTD_PATCH_FROM) && oldBytes.length > 0) {
      try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
        ctx.setLevel(LEVEL).setLong(WINDOW_LOG_MAX).setWindowLog(WINDOW_LOG_MAX);
        ctx.loadDict(oldBytes);
        best = new EncodedPatch(PatchMethod.ZSTD_PATCH_FROM, ctx.compress(newBytes));
      }
    }
    if (allowed.contains(PatchMethod.ZSTD) || best == null) {
      try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
        ctx.setLevel(LEVEL).setLong(WINDOW_LOG_MAX).setWindowLog(WINDOW_LOG_MAX);
        byte[] plain = ctx.compress(newBytes);
        if (best == null || plain.length < best.bytes().length) {
          best = new EncodedPatch(PatchMethod.ZSTD, plain);
        }
      }
    }
    return best;
  }

  public static void decode(
      PatchMethod method, ByteBuffer oldBytes, InputStream patch, long expectedSize, OutputStream out)
      throws IOException {
    if (method == PatchMethod.BSDIFF_ZSTD) {
      throw new UpgradeException(ErrorCode.PATCH_MALFORMED, "bsdiff patches need the codec branch");
    }
    try (ZstdInputStreamNoFinalizer in = new ZstdInputStreamNoFinalizer(patch)) {
      in.setLongMax(WINDOW_LOG_MAX);
      in.setContinuous(false);
      if (method == PatchMethod.ZSTD_PATCH_FROM) {
        ByteBuffer dup = oldBytes.duplicate();
        byte[] dict = new byte[dup.remaining()];
        dup.get(dict);
        in.setDict(dict);
      }
      byte[] buffer = new byte[64 * 1024];
      long total = 0;
      for (int n; (n = in.read(buffer)) > 0; ) {
        total += n;
        if (total > expectedSize) {
          throw new UpgradeException(ErrorCode.PATCH_MALFORMED, "patch expands beyond " + expectedSize + " bytes");
        }
        out.write(buffer, 0, n);
      }
      if (total != expectedSize) {
        throw new UpgradeException(
            ErrorCode.PATCH_MALFORMED, "patch yields " + total + " bytes, expected " + expectedSize);
      }
    } catch (ZstdException e) {
      throw new UpgradeException(ErrorCode.PATCH_MALFORMED, "corrupt zstd stream: " + e.getMessage(), e);
    }
  }
}
