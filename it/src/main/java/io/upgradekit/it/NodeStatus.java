package io.upgradekit.it;

import java.util.List;

/**
 * What {@code updater status --json} prints.
 *
 * @param app the app
 * @param channel the channel followed
 * @param current the version {@code current} points at, or null
 * @param previous the recorded previous version, or null
 * @param versionsOnDisk complete versions under {@code versions/}
 * @param serviceRunning whether a service process it knows is alive (null: cannot tell)
 * @param updateInProgress an unfinished (or interrupted) event, or null
 * @param lastEvent the last finished event, or null
 * @param pendingReports reports not yet accepted by the server
 * @param badReleases releases this node will not install again
 * @param waiting what the rollout makes the node wait for at GATE, or null
 */
public record NodeStatus(
    String app,
    String channel,
    String current,
    String previous,
    List<String> versionsOnDisk,
    Boolean serviceRunning,
    UpdateRecord updateInProgress,
    UpdateRecord lastEvent,
    int pendingReports,
    List<String> badReleases,
    Waiting waiting) {

  public NodeStatus {
    versionsOnDisk = versionsOnDisk == null ? List.of() : List.copyOf(versionsOnDisk);
    badReleases = badReleases == null ? List.of() : List.copyOf(badReleases);
  }

  /**
   * The current wait at GATE ({@code waiting} in {@code status --json}).
   *
   * @param version the release waited for
   * @param kind {@code upgrade} or {@code recall}
   * @param code why: {@code WAVE_NOT_OPEN}, {@code SCOPE_FULL}, {@code ROLLOUT_PAUSED}, {@code CONTRACT_UNMET}, ...
   * @param message the sentence {@code status} shows
   * @param since when this reason was first given
   */
  public record Waiting(String version, String kind, String code, String message, java.time.Instant since) {}
}
