package io.upgradekit.updater.cli;

import io.upgradekit.updater.engine.PayloadApplier;

/** The payload applier the command line uses. */
public final class PayloadAppliers {
  private PayloadAppliers() {}

  /** The delta engine of release-schema, with two threads (the node also runs its service). */
  public static PayloadApplier standard() {
    return new io.upgradekit.updater.engine.DeltaEngineApplier(2);
  }
}
