package io.upgradekit.updater.event;

/** How a state (a step of an event) ended; the name is what history and reports say. */
public enum StepOutcome {
  /** Its work was done. */
  OK,
  /** It failed; the step carries the code and sentence. */
  FAILED,
  /** It had nothing to do here (no gate configured, overlap's STOP, ...); the step says why. */
  SKIPPED
}
