package io.upgradekit.schema.delta.codec;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;

/**
 * How one file's bytes are encoded against its old version. Temporary stand-in on the delta-engine
 * branch until the codec branch is merged; the codec branch's version replaces it.
 */
public enum PatchMethod {
  BSDIFF_ZSTD(1),
  ZSTD_PATCH_FROM(2),
  ZSTD(3);

  private final int id;

  PatchMethod(int id) {
    this.id = id;
  }

  public int id() {
    return id;
  }

  public static PatchMethod fromId(int id) {
    for (PatchMethod m : values()) {
      if (m.id == id) {
        return m;
      }
    }
    throw new UpgradeException(ErrorCode.PATCH_MALFORMED, "unknown patch method " + id);
  }
}
