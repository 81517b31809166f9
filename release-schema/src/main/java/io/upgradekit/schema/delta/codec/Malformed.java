package io.upgradekit.schema.delta.codec;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;

/** The one way decoders report hostile or damaged input. */
final class Malformed {
  private Malformed() {}

  static UpgradeException malformed(String message) {
    return new UpgradeException(ErrorCode.PATCH_MALFORMED, message);
  }

  static UpgradeException malformed(String message, Throwable cause) {
    return new UpgradeException(ErrorCode.PATCH_MALFORMED, message, cause);
  }
}
