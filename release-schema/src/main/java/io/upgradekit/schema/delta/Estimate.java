package io.upgradekit.schema.delta;

import com.github.luben.zstd.Zstd;
import io.upgradekit.schema.delta.codec.ZstdPatchFrom;

/**
 * What one changed file or zip entry would cost alone, for {@code delta diff --explain}: zstd at a
 * fast level with its predecessor as dictionary (patch-from), or alone. In a delta such members
 * share one codec unit with their group, so their real cost is not separable; this estimate ranks
 * them (it is usually above the real share, which also finds what members have in common).
 */
final class Estimate {
  private static final int LEVEL = 3;

  private Estimate() {}

  static long of(byte[] reference, byte[] target) {
    if (target.length == 0) {
      return 0;
    }
    if (reference == null || reference.length == 0 || reference.length > ZstdPatchFrom.MAX_OLD_SIZE) {
      return Zstd.compress(target, LEVEL).length;
    }
    return ZstdPatchFrom.encode(reference, target, LEVEL).length;
  }
}
