package io.upgradekit.updater.cli;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.engine.PayloadApplier;

/** The payload applier the command line uses. */
public final class PayloadAppliers {
  private PayloadAppliers() {}

  /**
   * The delta engine of release-schema. Until the delta-engine branch is merged this build has
   * none, and STAGE fails with a clear message instead of guessing.
   */
  public static PayloadApplier standard() {
    return (blob, base, out, treeHash) -> {
      throw new UpgradeException(ErrorCode.STAGE_FAILED, "this build of the updater has no delta engine "
          + "(release-schema's io.upgradekit.schema.delta); install a build that includes it");
    };
  }
}
