package io.upgradekit.plugin;

import io.upgradekit.plugin.release.RolloutSettings;

/**
 * The {@code <rollout>} element of {@code upgrade:release}: how the release rolls out over the
 * nodes that follow its channel. Every value is text and is checked when the release is built, with
 * the element and the fix in the message. Each setting's default is documented in
 * docs/maven-plugin.md.
 */
public class Rollout {
  /** {@code all} (one wave), {@code canary} (a canary wave, then the rest) or {@code batches}. Default: batches. */
  String strategy;

  /** The canary wave: nodes ({@code 2}) or a share of the fleet ({@code 10%}). Default: 1. */
  String canary;

  /**
   * Nodes ({@code 6}) or share of the fleet ({@code 75%}, at most 99%) that stay up and healthy at
   * every moment; sizes the batches. Default: 75% (0 for {@code all}).
   */
  String minAvailable;

  /** How long a finished wave must stay healthy before the next opens ({@code 10m}, at most 7d). Default: 0s. */
  String bakeTime;

  /** Failed nodes tolerated per wave: a count ({@code 1}) or a share of the wave ({@code 10%}). Default: 0. */
  String maxFailures;

  /** {@code auto}, or {@code manual}: an operator approves every next wave. Default: auto. */
  String approval;

  /** What happens when the release does worse than the old version. Default: mode manual. */
  RollbackPolicy rollbackPolicy;

  /** A node label key (e.g. {@code zone}): after the canary, one wave per value of it. Default: none. */
  String waveLabel;

  /** {@code <rollout><rollbackPolicy>}. */
  /**
   * The release set that rolls this release out ({@code <setName>} of {@code upgrade:release-set}):
   * repo-server holds the release's rollout until a published set of that name lists it and lets it
   * start, even when the set is published after the release. {@code upgrade:release} run before
   * {@code upgrade:release-set} in one build sets it by itself. Property {@code upgrade.rollout.set}.
   * Default: none.
   */
  String set;

  public static class RollbackPolicy {
    /** {@code auto} (halt and recall by itself) or {@code manual} (report, wait for an operator). Default: manual. */
    String mode;

    /** Error rate above this many times the baseline's counts as worse. Default: 3. */
    String errorRateFactor;

    /** Latency above this many times the baseline's counts as worse. Default: 2. */
    String latencyFactor;

    /** How long after a node's switch the comparison runs ({@code 5m}). Default: 5m. */
    String window;

    /** {@code any} (either factor exceeded) or {@code all} (both). Default: any. */
    String combine;
  }

  RolloutSettings settings() {
    RolloutSettings.Rollback rollback = rollbackPolicy == null ? null : new RolloutSettings.Rollback(
        rollbackPolicy.mode, rollbackPolicy.errorRateFactor, rollbackPolicy.latencyFactor, rollbackPolicy.window,
        rollbackPolicy.combine);
    return new RolloutSettings(strategy, canary, minAvailable, bakeTime, maxFailures, approval, rollback, waveLabel,
        set);
  }
}
