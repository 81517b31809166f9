package io.upgradekit.schema.delta;

import io.upgradekit.schema.delta.codec.FileCodec;
import io.upgradekit.schema.delta.codec.PatchMethod;
import java.util.EnumSet;

/**
 * What one changed file or zip entry would cost alone, for {@code delta diff --explain}: the
 * content codec (bsdiff with zstd) against its predecessor, or zstd alone for a new one. In a
 * delta such members share one codec unit with their group, so their real cost is not separable;
 * this estimate ranks them (it is usually above the real share, since the group also finds what
 * members have in common and pays the codec's fixed cost once).
 */
final class Estimate {
  private Estimate() {}

  static long of(byte[] reference, byte[] target) {
    if (target.length == 0) {
      return 0;
    }
    boolean alone = reference == null || reference.length == 0;
    return FileCodec.encode(alone ? new byte[0] : reference, target,
        EnumSet.of(alone ? PatchMethod.ZSTD : PatchMethod.BSDIFF_ZSTD)).bytes().length;
  }
}
