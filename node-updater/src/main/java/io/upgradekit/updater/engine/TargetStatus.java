package io.upgradekit.updater.engine;

import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.feedback.Outbox;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.StateFiles;
import io.upgradekit.updater.process.ServiceController;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code updater status} shows; read without the lock and without writing anything.
 *
 * @param app the app
 * @param channel the channel followed
 * @param current the version {@code current} points at, or null
 * @param previous the recorded previous version, or null
 * @param versionsOnDisk complete versions under {@code versions/}
 * @param serviceRunning whether a known service process is alive (null when the updater cannot tell)
 * @param updateInProgress the unfinished event (running now, or interrupted), or null
 * @param lastEvent the last finished event, or null
 * @param pendingReports reports not yet accepted by the server
 * @param badReleases releases this node will not install again
 * @param damaged state files that cannot be used, each with what is wrong; the next {@code run}
 *     moves them to {@code state/damaged/} and rebuilds them (STATE_RECOVERED)
 * @param waiting what the rollout makes this node wait for ("waiting for wave 3 of 5"), or null
 * @param lease the rollout slot this node holds (or still has to return), or null
 * @param heartbeats heartbeat failures (null when the node sends none: no credential)
 */
public record TargetStatus(
    String app,
    String channel,
    String current,
    String previous,
    List<String> versionsOnDisk,
    Boolean serviceRunning,
    JournalRecord updateInProgress,
    JournalRecord lastEvent,
    int pendingReports,
    List<String> badReleases,
    List<String> damaged,
    NodeState.Wait waiting,
    NodeState.Lease lease,
    Heartbeats.Record heartbeats) {

  /** Reads the target's state; damaged files are listed in {@code damaged}, never fatal. */
  public static TargetStatus read(UpdaterConfig config) {
    Home home = new Home(config.home());
    List<String> damaged = new ArrayList<>();
    NodeState state;
    try {
      state = NodeState.read(home.nodeFile());
    } catch (StateFiles.DamagedStateException e) {
      damaged.add(e.getMessage());
      state = NodeState.empty();
    }
    Journal journal = new Journal(home.journal(), home.history());
    List<JournalRecord> history = journal.history(damaged::add);
    JournalRecord active = null;
    try {
      active = journal.active().orElse(null);
    } catch (StateFiles.DamagedStateException e) {
      damaged.add(e.getMessage());
    }
    ServiceController service = new ServiceController(config.service(), home.serviceFile(),
        home.state().resolve("service.log"), home.root(), line -> { });
    Boolean running = null;
    if (config.service().process() != null || config.service().pidFile() != null) {
      try {
        running = service.isRunning();
      } catch (StateFiles.DamagedStateException e) {
        damaged.add(e.getMessage());
      }
    }
    int pending;
    try {
      pending = (int) Math.min(Integer.MAX_VALUE, new Outbox(home.outbox(), Clock.systemUTC(), line -> { }).count());
    } catch (io.upgradekit.schema.UpgradeException e) {
      damaged.add(e.getMessage());
      pending = 0;
    }
    return new TargetStatus(config.app(), config.channel(), home.currentVersion().orElse(null), state.previous(),
        home.versionsOnDisk(), running, active, history.isEmpty() ? null : history.get(history.size() - 1), pending,
        state.badReleases(), damaged, state.waiting(), state.lease(),
        config.node().credential() == null ? null : Heartbeats.read(home.state()));
  }
}
