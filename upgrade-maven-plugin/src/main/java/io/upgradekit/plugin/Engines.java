package io.upgradekit.plugin;

import io.upgradekit.plugin.release.DeltaEngine;

/** The delta engine the goals use. */
final class Engines {
  private Engines() {}

  static DeltaEngine create() {
    throw new IllegalStateException("the delta engine is not merged yet");
  }
}
