package io.upgradekit.schema.delta.codec;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;

/**
 * How one file's patch is encoded. The one-byte {@link #id()} is written into deltas, so ids are
 * stable: add methods with new ids, never renumber or reuse one.
 *
 * <p>All zstd frames in patches are in zstd's magicless format (RFC 8878 frames without the 4-byte
 * magic number), record their content size and carry no checksum or dictionary id: the method id
 * already says what follows, and the tree level checks every file's SHA-256.
 */
public enum PatchMethod {
  /**
   * bsdiff 4 matching over a suffix array of the old file; control, diff and extra streams each
   * compressed with zstd. See {@link Bsdiff} for the container. Best for small edits to binaries and
   * class files, and for data that moved around.
   */
  BSDIFF_ZSTD(1),
  /**
   * One zstd frame compressed with the old file as a raw-content dictionary, like
   * {@code zstd --patch-from=old}. See {@link ZstdPatchFrom}. Only offered for old files up to
   * {@link ZstdPatchFrom#MAX_OLD_SIZE}, above which zstd-jni's dictionary path degrades.
   */
  ZSTD_PATCH_FROM(2),
  /** One zstd frame of the new file alone; the fallback for new files and unrelated content. */
  ZSTD(3);

  private final int id;

  PatchMethod(int id) {
    this.id = id;
  }

  /**
   * The id that deltas record for this method.
   *
   * @return the stable one-byte id, 1 to 255
   */
  public int id() {
    return id;
  }

  /**
   * The method with the given id, as read from a delta.
   *
   * @param id the id read from a delta, untrusted
   * @return the method with that id
   * @throws UpgradeException {@link ErrorCode#PATCH_MALFORMED} if no method has this id, for
   *     example a delta written by a newer release that added methods
   */
  public static PatchMethod fromId(int id) {
    for (PatchMethod method : values()) {
      if (method.id == id) {
        return method;
      }
    }
    throw new UpgradeException(
        ErrorCode.PATCH_MALFORMED,
        "unknown patch method id " + id + ": the delta was written by a newer or foreign tool;"
            + " update the node updater or rebuild the delta");
  }
}
