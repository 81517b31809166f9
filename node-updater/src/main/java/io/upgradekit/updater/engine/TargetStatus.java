package io.upgradekit.updater.engine;

import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.feedback.Outbox;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.process.ServiceController;
import java.time.Clock;
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
    List<String> badReleases) {

  public static TargetStatus read(UpdaterConfig config) {
    Home home = new Home(config.home());
    NodeState state = NodeState.read(home.nodeFile());
    Journal journal = new Journal(home.journal(), home.history());
    List<JournalRecord> history = journal.history();
    ServiceController service = new ServiceController(config.service(), home.serviceFile(),
        home.state().resolve("service.log"), home.root(), line -> { });
    Boolean running = config.service().process() != null || config.service().pidFile() != null
        ? service.isRunning() : null;
    return new TargetStatus(config.app(), config.channel(), home.currentVersion().orElse(null), state.previous(),
        home.versionsOnDisk(), running, journal.active().orElse(null),
        history.isEmpty() ? null : history.get(history.size() - 1),
        new Outbox(home.outbox(), Clock.systemUTC(), line -> { }).pending().size(), state.badReleases());
  }
}
