package io.upgradekit.updater.engine;

import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.feedback.Outbox;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.StateFiles;
import io.upgradekit.updater.process.ServiceController;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
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
 * @param trusted the signed documents this node trusts now and when each expires: the trust root
 *     (pinned, or the newest rotation walked), the channel pointer, the manifest of the release it
 *     runs, and that release's rollout state (when it has a plan); what it has not fetched yet is
 *     left out
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
    Heartbeats.Record heartbeats,
    List<Trusted> trusted) {

  /**
   * A signed document the node trusts.
   *
   * @param document {@code root}, {@code channel}, {@code release} or {@code rollout}
   * @param name what it is, for people ("channel pointer shop/stable (2.4.0, sequence 7)")
   * @param expires when the node stops accepting it
   * @param expired whether that has passed
   * @param fix what to do about it, said when it expired or expires within {@link #WARN_BEFORE};
   *     else null
   */
  @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  public record Trusted(String document, String name, Instant expires, boolean expired, String fix) {}

  /** A document expiring within this is flagged, as repo-server's --expiry-warning does by default. */
  public static final Duration WARN_BEFORE = Duration.ofDays(7);

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
    String current = home.currentVersion().orElse(null);
    return new TargetStatus(config.app(), config.channel(), current, state.previous(),
        home.versionsOnDisk(), running, active, history.isEmpty() ? null : history.get(history.size() - 1), pending,
        state.badReleases(), damaged, state.waiting(), state.lease(),
        config.node().credential() == null ? null : Heartbeats.read(home.state()),
        trusted(config, home, current, state, damaged, Clock.systemUTC().instant()));
  }

  /** What the node verified last, read from its own state (no network): pinned root and walked rotations, cached pointer, kept manifest. */
  static List<Trusted> trusted(UpdaterConfig config, Home home, String current, NodeState state, List<String> damaged,
      Instant now) {
    List<Trusted> out = new ArrayList<>();
    try {
      byte[] pinned = BoundedFiles.read(config.trustRoot(), DocumentType.ROOT.maxBytes());
      TrustRoot root = Json.read(Envelopes.parse(pinned, DocumentType.ROOT).payloadBytes(), TrustRoot.class, "root");
      Path cache = home.trust().resolve("roots");
      for (int step = 0; step < TrustRoots.MAX_ROTATIONS_PER_UPDATE; step++) {
        Path next = cache.resolve((root.version() + 1) + ".root.json");
        if (!Files.isRegularFile(next)) {
          break;
        }
        root = TrustRoots.verifyNext(root, BoundedFiles.read(next, DocumentType.ROOT.maxBytes()));
      }
      out.add(trusted("root", "trust root version " + root.version(), root.expires(), now, "the repository's"
          + " publisher must publish the next trust root version (mvn upgrade:keygen with <rootKeyFile>); the node"
          + " walks to it by itself"));
    } catch (IOException | UpgradeException e) {
      damaged.add("the trust root cannot be read for its expiry: " + e.getMessage());
    }
    ChannelPointer pointer = read(home.trust().resolve("channel.json"), DocumentType.CHANNEL, ChannelPointer.class,
        damaged);
    if (pointer != null) {
      out.add(trusted("channel", "channel pointer " + pointer.app() + "/" + pointer.channel() + " ("
          + pointer.version() + ", sequence " + pointer.sequence() + ")", pointer.expires(), now,
          "the publisher must re-sign it (mvn upgrade:resign -Dupgrade.app=" + pointer.app() + " -Dupgrade.channel="
              + pointer.channel() + ") or publish a release to the channel"));
    }
    if (current != null) {
      ReleaseManifest manifest = read(home.releases().resolve(current + ".json"), DocumentType.RELEASE,
          ReleaseManifest.class, damaged);
      if (manifest != null) {
        out.add(trusted("release", "release manifest " + manifest.app() + " " + manifest.version(),
            manifest.expires(), now, "the publisher must publish a new release to the channel (a manifest cannot be"
                + " re-signed); the running version keeps running"));
      }
      NodeState.Rollout rollout = state.rollout(current);
      if (rollout.expires() != null) {
        out.add(trusted("rollout", "rollout state of " + current + " (sequence " + rollout.sequence() + ")",
            rollout.expires(), now, null));
      }
    }
    return List.copyOf(out);
  }

  private static Trusted trusted(String document, String name, Instant expires, Instant now, String fix) {
    boolean expired = !now.isBefore(expires);
    // A rollout state lives minutes and is re-signed by repo-server: its expiry is shown, never flagged.
    boolean flag = fix != null && (expired || Duration.between(now, expires).compareTo(WARN_BEFORE) < 0);
    return new Trusted(document, name, expires, expired, flag ? fix : null);
  }

  private static <T> T read(Path file, DocumentType type, Class<T> documentClass, List<String> damaged) {
    try {
      byte[] bytes = BoundedFiles.read(file, type.maxBytes());
      return Json.read(Envelopes.parse(bytes, type).payloadBytes(), documentClass, type.typeName());
    } catch (java.nio.file.NoSuchFileException e) {
      return null;
    } catch (IOException | UpgradeException e) {
      damaged.add(file + " cannot be read for its expiry: " + e.getMessage());
      return null;
    }
  }
}
