package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.feedback.Outbox;
import io.upgradekit.updater.journal.DiskFull;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.process.ServiceController;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs the events of one target through {@link UpdateState}'s states: updates ({@link
 * UpdateFlow}), manual rollbacks and recalls ({@link Rollbacks}), the recovery of damaged state
 * ({@link StateRecovery}) and the reconciliation of an event a crash interrupted ({@link
 * Reconciler}). Everything it has to say is one stream of {@link AgentEvent}s to its listener; it
 * prints nothing.
 *
 * <p>Every entry point takes the target lock first (a held lock ends the call with {@link
 * Outcome#LOCKED}, having written nothing), then recovers damaged state and reconciles an
 * unfinished journal left by a crash: the {@code current} link is the truth, and the interrupted
 * event is finished (committed, or rolled back to its previous version) so that exactly one
 * complete version runs. Queued reports are delivered on the way out.
 *
 * <p>Not thread-safe: one engine per target and process.
 */
public final class UpdateEngine {
  /**
   * How a call ended.
   *
   * @param outcome how it ended
   * @param code the failure's code, or null
   * @param message a sentence for the operator
   * @param version the version the event aimed at (or runs, when up to date), or null
   * @param retryAfter how long the server asked to wait before the next poll, or null
   */
  public record Result(Outcome outcome, ErrorCode code, String message, String version, Duration retryAfter) {
    public Result {
      Objects.requireNonNull(outcome, "outcome");
    }

    /** A failure before anything was done (the lock, the state files). */
    public static Result failed(UpgradeException e) {
      return new Result(Outcome.ofFailure(e.code()), e.code(), e.getMessage(), null, null);
    }

    /** The exit status ({@link ExitStatus#of(Outcome, ErrorCode)}). */
    public int exitCode() {
      return ExitStatus.of(outcome, code);
    }
  }

  private final Parts parts;
  private final Rollbacks rollbacks;
  private final StateRecovery recovery;
  /** Whether a kept release manifest carries a rollout plan, by version: read once per engine. */
  private final Map<String, Boolean> plans = new HashMap<>();
  private final Heartbeats heartbeats;

  /** An engine that waits with {@link Sleeper#SYSTEM}. */
  public UpdateEngine(UpdaterConfig config, PayloadApplier applier, Clock clock, Consumer<AgentEvent> listener) {
    this(config, applier, clock, Sleeper.SYSTEM, listener);
  }

  /**
   * @param listener receives every event: transitions, notes, progress (the console, metrics, hooks)
   */
  public UpdateEngine(UpdaterConfig config, PayloadApplier applier, Clock clock, Sleeper sleeper,
      Consumer<AgentEvent> listener) {
    Heartbeats.Watch watch = new Heartbeats.Watch();
    this.parts = Parts.of(Objects.requireNonNull(config, "config"), applier, clock, sleeper,
        Objects.requireNonNull(listener, "listener").andThen(watch));
    this.heartbeats = new Heartbeats(parts, watch);
    Home home = parts.home();
    this.rollbacks = new Rollbacks(parts);
    this.recovery = new StateRecovery(parts);
    // State writes are never starved by payload writes: on a full disk, StateFiles frees the
    // reserve first, then staging leftovers and the download cache, and retries.
    DiskFull.register(home.state(), DiskFull.of(() -> DiskFull.releaseReserve(home.state()), this::freePayloadSpace));
  }

  public Home home() {
    return parts.home();
  }

  public Journal journal() {
    return parts.journal();
  }

  public ServiceController service() {
    return parts.service();
  }

  public Outbox outbox() {
    return parts.outbox();
  }

  /**
   * This target's heartbeats (not started): {@code updater run} starts them for its whole life,
   * daemon or {@code --once}, so that repo-server hears the node and its rollout slot stays alive.
   */
  public Heartbeats heartbeats() {
    return heartbeats;
  }

  /**
   * A listener for the repository's calls (not started): {@code updater run} starts one beside its
   * daemon, which polls at once when a rollout calls the node.
   */
  public CallListener callListener(java.util.function.Consumer<io.upgradekit.schema.api.NodeCall> onCall) {
    return new CallListener(parts, onCall, Sleeper.SYSTEM);
  }

  /**
   * One update: lock, recover, reconcile, resolve, and if the channel moved, the whole state
   * machine. Then delivers queued reports.
   *
   * @param stageOnly stop after STAGE (preheat); callers pass the configuration's {@code stageOnly}
   *     unless told otherwise
   */
  public Result runOnce(boolean stageOnly) {
    return underLock(() -> new UpdateFlow(parts, rollbacks, recovery, plans).run(stageOnly));
  }

  /**
   * A rollback drill under the lock: back to the previous version through ROLLBACK, then forward
   * through an ordinary update ({@link Drill}).
   *
   * @param probe requests to count while it runs, or null
   */
  public Result drill(io.upgradekit.updater.health.RequestProbe probe) {
    return underLock(() -> new Drill(parts, rollbacks, onStart -> new UpdateFlow(parts, rollbacks, recovery, plans,
        onStart)).run(probe));
  }

  /** Manual rollback to the recorded previous version, under the lock. */
  public Result rollback() {
    return underLock(rollbacks::manual);
  }

  /**
   * The daemon lock, for {@code updater run} without {@code --once}: held for the daemon's whole
   * life, so a second daemon exits at once even while the first idles between polls.
   *
   * @throws UpgradeException LOCKED when another daemon runs for this target
   */
  public TargetLock lockDaemon() {
    return TargetLock.acquireDaemon(parts.home());
  }

  /** Sends queued reports (backoff honoured unless {@code force}); returns how many were accepted. */
  public int deliverReports(boolean force) {
    UpdaterConfig config = parts.config();
    return parts.outbox().deliver(parts.client(), config.feedback().url(), config.node().id(),
        config.node().authorization(), force);
  }

  /** Lock, recover, reconcile, act, deliver reports; a held lock ends the call with LOCKED at once. */
  private Result underLock(Supplier<Result> action) {
    TargetLock lock;
    try {
      lock = TargetLock.acquire(parts.home());
    } catch (UpgradeException e) {
      return Result.failed(e);
    }
    try (lock) {
      Result result;
      try {
        // A service.socket this process does not hold is a configuration error before anything is
        // started or stopped (recovery and reconciliation may start the service too).
        parts.service().requireHeldSocket();
        String noReserve = DiskFull.ensureReserve(parts.home().state());
        if (noReserve != null) {
          parts.events().warn(noReserve);
        }
        recovery.checkAndRecord();
        Result finishedSelfUpgrade = new Reconciler(parts, rollbacks).reconcile();
        RolloutGate rollout = new RolloutGate(parts);
        rollout.releaseHeld(); // a slot kept by an event that ended (or a crash ended) goes back first
        result = action.get();
        rollout.releaseHeld();
        if (finishedSelfUpgrade != null && result.outcome() == Outcome.UP_TO_DATE) {
          // This process is the relaunch of the one that switched: its status is the update's.
          result = finishedSelfUpgrade;
        }
      } catch (UpgradeException e) {
        // The target's own state could not be read or written (damaged file, full disk): say which.
        parts.events().error(e.toString());
        result = Result.failed(e);
      } catch (RuntimeException e) {
        // A bug must not become a crash loop of the daemon: this run failed, the next one tries again.
        parts.events().error("unexpected failure: " + e);
        result = new Result(Outcome.FAILED, ErrorCode.IO_ERROR, "unexpected failure: " + e, null, null);
      } finally {
        parts.events().reset();
      }
      deliverReports(true);
      return result;
    }
  }

  /** Deletes staging leftovers and the download cache (partial downloads too); true if anything was there. */
  private boolean freePayloadSpace() {
    boolean any = false;
    for (Path dir : List.of(parts.home().staging(), parts.home().cache())) {
      if (Files.isDirectory(dir)) {
        try (var entries = Files.list(dir)) {
          for (Path p : (Iterable<Path>) entries::iterator) {
            FileTrees.deleteQuietly(p);
            any = true;
          }
        } catch (IOException e) {
          // nothing more to free here
        }
      }
    }
    if (any) {
      parts.events().warn("the disk is full: deleted staging leftovers and the download cache so that state can "
          + "be written");
    }
    return any;
  }
}
