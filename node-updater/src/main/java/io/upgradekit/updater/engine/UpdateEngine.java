package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.config.UpdaterConfig.Strategy;
import io.upgradekit.updater.download.HttpFailure;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.feedback.Outbox;
import io.upgradekit.updater.health.HealthChecker;
import io.upgradekit.updater.health.MetricsSampler;
import io.upgradekit.updater.journal.DiskFull;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.Quarantine;
import io.upgradekit.updater.journal.StateFiles;
import io.upgradekit.updater.process.ServiceController;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Runs updates of one target through {@link UpdateState}'s states, journaling each transition
 * before it takes effect and emitting one {@link UpdateEvent} per transition.
 *
 * <p>Every entry point takes the target lock first (a held lock ends the call with {@link
 * Outcome#LOCKED}, having written nothing), then reconciles an unfinished journal left by a crash:
 * the {@code current} link is the truth, and the interrupted event is finished (committed, or
 * rolled back to its previous version) so that exactly one complete version runs.
 *
 * <p>Not thread-safe: one engine per target and process.
 */
public final class UpdateEngine {
  /** How a call ended. */
  public record Result(Outcome outcome, ErrorCode code, String message, String version, Duration retryAfter) {
    public int exitCode() {
      return outcome.exitCode();
    }
  }

  private final UpdaterConfig config;
  private final Home home;
  private final PayloadApplier applier;
  private final Clock clock;
  private final Consumer<UpdateEvent> listener;
  private final Consumer<String> log;
  private final LongConsumer downloadProgress;
  private final Journal journal;
  private final RepositoryClient client;
  private final ServiceController service;
  private final HealthChecker health;
  private final MetricsSampler metrics;
  private final Outbox outbox;
  private final StateRecovery recovery;

  public UpdateEngine(UpdaterConfig config, PayloadApplier applier, Clock clock, Consumer<UpdateEvent> listener,
      Consumer<String> log, LongConsumer downloadProgress) {
    this.config = Objects.requireNonNull(config, "config");
    this.home = new Home(config.home());
    this.applier = Objects.requireNonNull(applier, "applier");
    this.clock = clock;
    this.listener = listener;
    this.log = log;
    this.downloadProgress = downloadProgress;
    this.journal = new Journal(home.journal(), home.history());
    this.client = new RepositoryClient(config.repository(), config.limits());
    this.service = new ServiceController(config.service(), home.serviceFile(), home.state().resolve("service.log"),
        home.root(), log);
    this.health = new HealthChecker(config.health(), home.root(), service::privatePort);
    this.metrics = config.watch() == null ? null : new MetricsSampler(config.watch(), service::privatePort);
    this.outbox = new Outbox(home.outbox(), clock, log);
    this.recovery = new StateRecovery(config, home, journal, service);
    // State writes are never starved by payload writes: on a full disk, StateFiles frees the
    // reserve first, then staging leftovers and the download cache, and retries.
    DiskFull.register(home.state(), DiskFull.of(() -> DiskFull.releaseReserve(home.state()), this::freePayloadSpace));
  }

  /** Deletes staging leftovers and the download cache (partial downloads too); true if anything was there. */
  private boolean freePayloadSpace() {
    boolean any = false;
    for (Path dir : List.of(home.staging(), home.cache())) {
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
      log.accept("the disk is full: deleted staging leftovers and the download cache so that state can be written");
    }
    return any;
  }

  public Home home() {
    return home;
  }

  public Journal journal() {
    return journal;
  }

  public ServiceController service() {
    return service;
  }

  /**
   * One update: lock, reconcile, resolve, and if the channel moved, the whole state machine. Then
   * delivers queued reports.
   *
   * @param stageOnly stop after STAGE (preheat); callers pass the configuration's {@code stageOnly}
   *     unless told otherwise
   */
  public Result runOnce(boolean stageOnly) {
    return underLock(() -> update(stageOnly));
  }

  /**
   * The daemon lock, for {@code updater run} without {@code --once}: held for the daemon's whole
   * life, so a second daemon exits at once even while the first idles between polls.
   *
   * @throws UpgradeException LOCKED when another daemon runs for this target
   */
  public TargetLock lockDaemon() {
    return TargetLock.acquireDaemon(home);
  }

  /** Manual rollback to the recorded previous version, under the lock. */
  public Result rollback() {
    return underLock(this::manualRollback);
  }

  /** Lock, reconcile, act, deliver reports; a held lock ends the call with LOCKED at once. */
  private Result underLock(java.util.function.Supplier<Result> action) {
    TargetLock lock;
    try {
      lock = TargetLock.acquire(home);
    } catch (UpgradeException e) {
      return new Result(Outcome.ofFailure(e.code()), e.code(), e.getMessage(), null, null);
    }
    try (lock) {
      Result result;
      try {
        String noReserve = DiskFull.ensureReserve(home.state());
        if (noReserve != null) {
          log.accept(noReserve);
        }
        StateRecovery.Findings damaged = recovery.check();
        if (!damaged.isEmpty()) {
          recordRecovery(damaged);
        }
        Result finishedSelfUpgrade = reconcile();
        result = action.get();
        if (finishedSelfUpgrade != null && result.outcome() == Outcome.UP_TO_DATE) {
          // This process is the relaunch of the one that switched: its status is the update's.
          result = finishedSelfUpgrade;
        }
      } catch (UpgradeException e) {
        // The target's own state could not be read or written (damaged file, full disk): say which.
        log.accept("error: " + e);
        result = new Result(Outcome.ofFailure(e.code()), e.code(), e.getMessage(), null, null);
      } catch (RuntimeException e) {
        // A bug must not become a crash loop of the daemon: this run failed, the next one tries again.
        log.accept("error: unexpected failure: " + e);
        result = new Result(Outcome.FAILED, ErrorCode.IO_ERROR, "unexpected failure: " + e, null, null);
      }
      deliverReports(true);
      return result;
    }
  }

  /** Sends queued reports (backoff honoured unless {@code force}); returns how many were accepted. */
  public int deliverReports(boolean force) {
    return outbox.deliver(client, config.feedback().url(), config.node().id(), config.node().authorization(), force);
  }

  public Outbox outbox() {
    return outbox;
  }

  // ---------------------------------------------------------------- the update

  private Result update(boolean stageOnly) {
    String installed = home.currentVersion().orElse(null);
    Run run = new Run(newRecord("update", installed));
    run.enter(UpdateState.BEGIN);
    NodeState state = NodeState.read(home.nodeFile());
    try {
      run.enter(UpdateState.RESOLVE);
      Resolver resolver = new Resolver(config, home, client, clock);
      Resolver.Resolution res;
      try {
        res = resolver.resolve(installed, state, s -> s.write(home.nodeFile()));
      } catch (UpgradeException e) {
        if (!e.code().isRefusal() && e.code() != ErrorCode.IO_ERROR) {
          throw e; // the network or the server, not this node's copies
        }
        // The damage may be in this node's cached or kept metadata: drop it and resolve once more.
        List<String> dropped = recovery.dropCachedMetadata(installed);
        if (dropped.isEmpty()) {
          throw e;
        }
        log.accept("RESOLVE failed (" + e + "); " + String.join("; ", dropped) + "; resolving once more");
        res = resolver.resolve(installed, NodeState.read(home.nodeFile()), s -> s.write(home.nodeFile()));
        run.stepCode = ErrorCode.STATE_RECOVERED;
        run.stepNote = "this node's copy of the metadata was unusable (" + e.getMessage() + "): "
            + String.join("; ", dropped) + "; resolved afresh from the repository";
        log.accept(ErrorCode.STATE_RECOVERED + ": " + run.stepNote);
      }
      if (config.gate().rolloutState() && installed != null) {
        String recallTo = new Gate(config, client, clock, log).recallTarget(installed, res.verifier());
        if (recallTo != null && !recallTo.equals(installed)) {
          return recall(run, installed, recallTo);
        }
      }
      if (res.upToDate()) {
        journal.discard();
        if (installed != null && config.service().process() != null && !service.isRunning()) {
          log.accept("the service is not running; starting " + installed);
          service.start(installed);
        }
        return new Result(Outcome.UP_TO_DATE, null, res.note(), installed, null);
      }
      ReleaseManifest manifest = res.manifest();
      String target = manifest.version();
      run.record = run.record.withTarget(target, manifest.sequence());
      state = NodeState.read(home.nodeFile());
      int crashes = state.crashes().getOrDefault(target, 0);
      if (crashes >= config.maxCrashes()) {
        state.withBad(target).write(home.nodeFile());
        throw new UpgradeException(ErrorCode.CRASH_LOOP, "the updater was interrupted " + crashes
            + " times while installing " + target + "; the release is marked bad on this node");
      }

      run.enter(UpdateState.DOWNLOAD);
      Path blob = download(res.blob(), res.deltaBase() == null ? "package" : "delta", manifest);

      run.enter(UpdateState.STAGE);
      try {
        new Stager(home, applier).stage(manifest, blob, res.deltaBase());
      } catch (UpgradeException e) {
        if (res.deltaBase() == null || !DELTA_FAULTS.contains(e.code())) {
          throw e;
        }
        fallBackToThePackage(run, res, manifest, blob, e);
      }
      resolver.rememberManifest(target, res.manifestBytes());
      if (stageOnly) {
        return run.end(Outcome.STAGED, null, "staged " + target + "; run again without --stage-only to switch");
      }

      run.enter(UpdateState.GATE);
      if (config.gate().claims() || config.gate().rolloutState()) {
        new Gate(config, client, clock, log).await(target, res.verifier());
      } else {
        run.skipNote = "no rollout gate configured";
      }

      run.enter(UpdateState.STOP);
      MetricsSampler.Sample baseline = null;
      if (metrics != null) {
        try {
          baseline = metrics.baseline(installed, config.watch().interval());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new UpgradeException(ErrorCode.INTERRUPTED, "interrupted while sampling the baseline");
        }
        if (baseline != null) {
          run.record = run.record.withMetrics(Map.of("baseline.error_rate", finite(baseline.errorRate()),
              "baseline.latency", finite(baseline.latency())));
        }
      }
      switch (config.service().strategy()) {
        case RESTART -> service.stopAll();
        case OVERLAP -> run.skipNote = "overlap: the old version keeps serving until the new one is healthy";
        case SELF -> {
          run.skipNote = "self-upgrade: this updater runs until it re-executes";
          // Read by bin/updater: where to switch back if the new version cannot start.
          StateFiles.write(selfPrevious(), (installed == null ? "" : installed).getBytes(StandardCharsets.US_ASCII));
        }
      }

      run.enter(UpdateState.SWITCH);
      Switcher.switchTo(home, target);

      run.enter(UpdateState.START);
      if (config.service().strategy() == Strategy.SELF) {
        // The journal stays at START: the new version, run by the launcher, verifies and commits.
        return new Result(Outcome.REEXEC, null, "switched to " + target + "; exiting with status "
            + Outcome.REEXEC_STATUS + " so that bin/updater runs the new version", target, null);
      }
      service.start(target);
      if (config.service().strategy() == Strategy.OVERLAP) {
        if (config.health().url() != null && !config.health().url().perProcess()) {
          log.accept("health.url reaches whichever process the kernel picks while both versions listen; with "
              + "{processPort} in it the check reaches only the new one (docs/node-updater.md, overlap)");
        }
        // The old process keeps serving until the new one passes this check on its own.
        note(health.awaitHealthy(target, () -> service.runningVersions().contains(target)));
        service.stopAllBut(target); // drain: SIGTERM, the old process finishes in-flight requests
      }

      run.enter(UpdateState.VERIFY);
      note(health.awaitHealthy(target, () -> runningOrUnknown(target)));
      watch(run, baseline, manifest);

      run.enter(UpdateState.COMMIT);
      NodeState.read(home.nodeFile()).withPrevious(installed).withoutCrashes(target).write(home.nodeFile());
      return run.end(Outcome.COMMITTED, null, "now running " + target);
    } catch (UpgradeException e) {
      return fail(run, e);
    } catch (RuntimeException e) {
      return fail(run, new UpgradeException(ErrorCode.IO_ERROR, "unexpected failure: " + e, e));
    }
  }

  /**
   * Codes with which a delta from the installed tree can fail to apply although the full package
   * of the same signed release may be fine: the delta names another base, produces another tree, or
   * is not a valid delta.
   */
  private static final java.util.Set<ErrorCode> DELTA_FAULTS =
      java.util.EnumSet.of(ErrorCode.BASE_MISMATCH, ErrorCode.HASH_MISMATCH, ErrorCode.PATCH_MALFORMED);

  /**
   * The delta listed for the installed tree did not apply: the failed STAGE is recorded with its
   * code, the delta is remembered in node state (RESOLVE skips it from now on), and the same
   * signed manifest's full package is downloaded (same size and free-disk checks) and staged, once.
   * A failure of the package ends the update as any staging failure does.
   */
  private void fallBackToThePackage(Run run, Resolver.Resolution res, ReleaseManifest manifest, Path delta,
      UpgradeException e) {
    String sha = res.blob().sha256();
    NodeState.read(home.nodeFile()).withBadDelta(sha).write(home.nodeFile());
    try {
      Files.deleteIfExists(delta);
    } catch (IOException ignored) {
      // the cache is cleared after the update anyway
    }
    log.accept("the delta from " + res.deltaBase() + " to " + manifest.version() + " (" + sha + ") does not apply ["
        + e.code() + "]: " + e.getMessage() + "; falling back to the full package of the same release");
    run.failNext(new UpgradeException(e.code(), "the delta from " + res.deltaBase() + " does not apply: "
        + e.getMessage() + " (the full package follows; this delta is not tried again on this node)", e));
    run.enter(UpdateState.DOWNLOAD);
    run.stepNote = "fallback: the full package, after the delta from " + res.deltaBase() + " failed with " + e.code();
    Path pkg = download(manifest.packageBlob(), "package", manifest);
    run.enter(UpdateState.STAGE);
    run.stepNote = "fallback: staged from the full package";
    new Stager(home, applier).stage(manifest, pkg, null);
  }

  /**
   * DOWNLOAD of one blob of {@code manifest}: the size limit and the free-disk check first (before
   * any byte), then the resumable, hash-checked download into the cache.
   */
  private Path download(io.upgradekit.schema.model.BlobRef blob, String what, ReleaseManifest manifest) {
    if (blob.size() > config.limits().maxDownloadBytes()) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, "the " + what + " of " + manifest.version() + " is "
          + blob.size() + " bytes, more than limits.maxDownloadSize (" + config.limits().maxDownloadBytes() + ")");
    }
    requireFreeDisk(blob.size() + manifest.payload().totalSize());
    return client.downloadBlob(blob, home.cache(), downloadProgress);
  }

  private Result fail(Run run, UpgradeException e) {
    Duration retryAfter = e instanceof HttpFailure h ? h.retryAfter() : null;
    UpdateState at = run.state;
    run.record = run.record.withError(e.code().name(), e.getMessage());
    if (at.requiresRollbackOnFailure()) {
      run.failNext(e);
      run.enter(UpdateState.ROLLBACK);
      try {
        rollbackTo(run.record.fromVersion());
        NodeState.read(home.nodeFile()).withBad(run.record.toVersion()).write(home.nodeFile());
        String back = run.record.fromVersion() == null ? "no version (a first install: current removed)"
            : run.record.fromVersion();
        return run.end(Outcome.ROLLED_BACK, e.code(), "rolled back to " + back + ": " + e.getMessage());
      } catch (UpgradeException r) {
        run.failNext(r);
        return run.end(Outcome.FAILED, r.code(), "rollback failed after " + e.code() + " (" + e.getMessage() + "): "
            + r.getMessage());
      }
    }
    if (at == UpdateState.STOP) {
      restoreOld(run.record.fromVersion());
    }
    run.failNext(e);
    Outcome outcome = Outcome.ofFailure(e.code());
    Result r = run.end(outcome, e.code(), e.getMessage());
    return new Result(r.outcome(), r.code(), r.message(), r.version(), retryAfter);
  }

  /** STOP failed or was interrupted before the switch: the old version must run again. */
  private void restoreOld(String from) {
    if (from != null && !service.isRunning()) {
      try {
        service.start(from);
      } catch (UpgradeException e) {
        log.accept("cannot restart " + from + ": " + e.getMessage());
      }
    }
  }

  /** Switches back to {@code from} (or removes a first install), restarts it, verifies it. */
  private void rollbackTo(String from) {
    if (config.service().strategy() == Strategy.SELF) {
      // This process is the old version: switching the link back is the whole rollback.
      if (from == null) {
        Switcher.removeCurrent(home);
      } else {
        Switcher.switchTo(home, from);
      }
      return;
    }
    if (from == null) {
      service.stopAll();
      Switcher.removeCurrent(home);
      return;
    }
    Switcher.switchTo(home, from);
    if (service.runningVersions().contains(from)) {
      service.stopAllBut(from); // overlap: the old process still serves; drain the new one
    } else {
      if (config.service().strategy() == Strategy.RESTART || config.service().process() == null) {
        service.stopAll();
      }
      service.start(from);
      if (config.service().process() != null) {
        // overlap: the old version starts beside the new one; once it answers, the new one goes
        note(health.awaitHealthy(from, () -> service.runningVersions().contains(from)));
        service.stopAllBut(from);
      }
    }
    // Now only the previous version serves: this check is about it alone.
    note(health.awaitHealthy(from, () -> runningOrUnknown(from)));
  }

  /** Without process mode the updater cannot tell; in process mode, a process of {@code version} is alive. */
  private boolean runningOrUnknown(String version) {
    return config.service().process() == null || service.runningVersions().contains(version);
  }

  private void note(String note) {
    if (note != null) {
      log.accept(note);
    }
  }

  /**
   * The watch policy: the release's own rollback policy when its manifest carries one (factors and
   * window; {@code manual} means observe and report only), else {@code watch.policy}.
   */
  MetricsSampler.Policy policyFor(ReleaseManifest manifest) {
    MetricsSampler.Policy configured = metrics.configuredPolicy();
    RolloutPlan.RollbackPolicy signed = manifest.rollout() == null ? null : manifest.rollout().rollback();
    if (signed == null) {
      return configured;
    }
    return new MetricsSampler.Policy(
        signed.errorRateFactor() == null ? configured.errorRateFactor() : signed.errorRateFactor(),
        signed.latencyFactor() == null ? configured.latencyFactor() : signed.latencyFactor(),
        configured.requireBoth(),
        signed.windowSeconds() == null ? configured.window() : Duration.ofSeconds(signed.windowSeconds()),
        "auto".equals(signed.mode()), "the release's rollback policy (" + signed.mode() + ")");
  }

  private void watch(Run run, MetricsSampler.Sample baseline, ReleaseManifest manifest) {
    if (metrics == null) {
      return; // the health check passed; no watch window is configured
    }
    MetricsSampler.Policy policy = policyFor(manifest);
    if (baseline == null || !baseline.complete()) {
      log.accept("no baseline metrics were sampled before the switch; the watch window only checks health");
    }
    Instant end = clock.instant().plus(policy.window());
    double worstErrors = 0;
    double worstLatency = 0;
    String version = run.record.toVersion();
    MetricsSampler.Raw previous = metrics.sampleRaw(version);
    while (clock.instant().isBefore(end)) {
      sleep(config.watch().interval());
      String problem = health.checkOnce(version);
      if (problem != null) {
        throw new UpgradeException(ErrorCode.HEALTH_CHECK_FAILED, "during the watch window: " + problem);
      }
      MetricsSampler.Raw raw = metrics.sampleRaw(version);
      MetricsSampler.Sample now = raw == null ? null : metrics.derive(previous, raw);
      if (raw != null) {
        previous = raw;
      }
      if (now != null && now.complete()) {
        worstErrors = Math.max(worstErrors, now.errorRate());
        worstLatency = Math.max(worstLatency, now.latency());
        run.record = run.record.withMetrics(Map.of("watch.error_rate", worstErrors, "watch.latency", worstLatency));
        String verdict = metrics.judge(baseline, now, policy);
        if (verdict != null && policy.rollBack()) {
          throw new UpgradeException(ErrorCode.METRICS_REGRESSION, "beyond the rollback policy: " + verdict);
        }
        if (verdict != null) {
          log.accept("regression seen, not acted on (the release's rollback policy is manual): " + verdict);
        }
      }
    }
  }

  private void requireFreeDisk(long needed) {
    try {
      Files.createDirectories(home.cache());
      long usable = Files.getFileStore(home.cache()).getUsableSpace();
      if (usable - needed < config.limits().minFreeDiskBytes()) {
        throw new UpgradeException(ErrorCode.DISK_SPACE, "the file system of " + home.root() + " has " + usable
            + " bytes free; the update needs " + needed + " and limits.minFreeDisk keeps "
            + config.limits().minFreeDiskBytes() + " free: free some space (old versions, logs) or lower the limit");
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot check free space of " + home.root() + ": " + e, e);
    }
  }

  /** The rollout recalled the installed release: switch back to {@code to}, like a manual rollback. */
  private Result recall(Run run, String installed, String to) {
    run.record = run.record.withKind("recall").withTarget(to, 0);
    if (!home.versionsOnDisk().contains(to)) {
      UpgradeException e = new UpgradeException(ErrorCode.NO_PREVIOUS_VERSION, "the rollout recalled " + installed
          + " to " + to + ", which is not on this node's disk (on disk: " + home.versionsOnDisk() + ")");
      run.record = run.record.withError(e.code().name(), e.getMessage());
      run.failNext(e);
      return run.end(Outcome.FAILED, e.code(), e.getMessage());
    }
    run.enter(UpdateState.ROLLBACK);
    try {
      rollbackTo(to);
      NodeState.read(home.nodeFile()).withBad(installed).withPrevious(installed).write(home.nodeFile());
      return run.end(Outcome.ROLLED_BACK, null, "the rollout recalled " + installed + "; back on " + to);
    } catch (UpgradeException e) {
      run.record = run.record.withError(e.code().name(), e.getMessage());
      run.failNext(e);
      return run.end(Outcome.FAILED, e.code(), "recall to " + to + " failed: " + e.getMessage());
    }
  }

  // ---------------------------------------------------------------- manual rollback

  private Result manualRollback() {
    String installed = home.currentVersion().orElse(null);
    NodeState state = NodeState.read(home.nodeFile());
    String previous = state.previous();
    Run run = new Run(newRecord("rollback", installed));
    run.record = run.record.withTarget(previous == null ? "unknown" : previous, 0);
    run.enter(UpdateState.BEGIN);
    if (installed == null || previous == null || previous.equals(installed)
        || !home.versionsOnDisk().contains(previous)) {
      UpgradeException e = new UpgradeException(ErrorCode.NO_PREVIOUS_VERSION, "there is no earlier version to "
          + "roll back to (installed: " + installed + ", previous: " + previous + ", on disk: "
          + home.versionsOnDisk() + ")");
      run.record = run.record.withError(e.code().name(), e.getMessage());
      run.failNext(e);
      return run.end(Outcome.FAILED, e.code(), e.getMessage());
    }
    run.enter(UpdateState.ROLLBACK);
    try {
      rollbackTo(previous);
      NodeState.read(home.nodeFile()).withBad(installed).withPrevious(installed).write(home.nodeFile());
      return run.end(Outcome.ROLLED_BACK, null, "rolled back from " + installed + " to " + previous
          + "; " + installed + " is marked bad on this node");
    } catch (UpgradeException e) {
      run.record = run.record.withError(e.code().name(), e.getMessage());
      run.failNext(e);
      return run.end(Outcome.FAILED, e.code(), "manual rollback failed: " + e.getMessage());
    }
  }

  // ---------------------------------------------------------------- damaged state

  /**
   * Records what {@link StateRecovery#check} found as an event of its own (kind {@code recovery},
   * outcome RECOVERED, code STATE_RECOVERED): in the log, in history, and as a report. When the
   * journal itself was lost, the event it described may have been interrupted anywhere: staging
   * leftovers are deleted and exactly the version {@code current} names is left running.
   */
  private void recordRecovery(StateRecovery.Findings damaged) {
    List<String> notes = new ArrayList<>(damaged.notes());
    String current = home.currentVersion().orElse(null);
    if (damaged.journalLost()) {
      new Stager(home, applier).cleanStaging();
      notes.add(runOnly(current));
    }
    String summary = String.join("; ", notes);
    log.accept(ErrorCode.STATE_RECOVERED + ": " + summary);
    Run run = new Run(newRecord("recovery", current).withTarget(current, 0));
    run.enter(UpdateState.BEGIN);
    run.stepCode = ErrorCode.STATE_RECOVERED;
    run.stepNote = summary;
    run.end(Outcome.RECOVERED, ErrorCode.STATE_RECOVERED, "damaged state was moved to state/" + Quarantine.DIRECTORY
        + "/ and rebuilt from the file system: " + summary);
  }

  /** Leaves exactly {@code current}'s version running (or nothing, without a current version). */
  private String runOnly(String current) {
    if (config.service().strategy() == Strategy.SELF) {
      return "this updater is the target: the version current names runs";
    }
    try {
      if (current == null) {
        if (config.service().process() != null) {
          service.stopAll();
        }
        return "no version is installed; no service process is left running";
      }
      if (config.service().process() != null) {
        service.stopAllBut(current);
      }
      if (!service.isRunning()) {
        service.start(current);
        return "started " + current + ", the version current names";
      }
      return current + " (the version current names) runs";
    } catch (UpgradeException e) {
      return "could not make sure that " + current + " runs alone: " + e.getMessage();
    }
  }

  // ---------------------------------------------------------------- crash reconciliation

  /**
   * Finishes an event that a crash interrupted. {@code current} is the truth: before the switch
   * the old version must simply run again; between switch and verification the event is rolled
   * back to its recorded previous version; after COMMIT it is finished forward.
   *
   * @return the result of a self-upgrade this process finished (it is the relaunched updater), else null
   */
  Result reconcile() {
    var active = journal.active();
    if (active.isEmpty()) {
      new Stager(home, applier).cleanStaging();
      return null;
    }
    JournalRecord rec = active.get();
    UpdateState at = UpdateState.valueOf(rec.state());
    log.accept("reconciling event " + rec.eventId() + " interrupted at " + at + " (current: "
        + home.currentVersion().orElse("none") + ")");
    boolean selfReexec = config.service().strategy() == Strategy.SELF
        && (at == UpdateState.SWITCH || at == UpdateState.START || at == UpdateState.VERIFY);
    if (selfReexec) {
      return finishSelfUpgrade(rec, at);
    }
    boolean manual = "rollback".equals(rec.kind()) || "recall".equals(rec.kind());
    NodeState state = NodeState.read(home.nodeFile());
    if (!manual && "update".equals(rec.kind()) && rec.toVersion() != null && rec.outcome() == null) {
      state = state.withCrash(rec.toVersion());
      if (state.crashes().get(rec.toVersion()) >= config.maxCrashes()) {
        state = state.withBad(rec.toVersion());
        log.accept("release " + rec.toVersion() + " interrupted the updater " + config.maxCrashes()
            + " times; marked bad on this node");
      }
      state.write(home.nodeFile());
    }
    new Stager(home, applier).cleanStaging();
    Run run = new Run(rec);
    run.state = at;
    run.stateStart = rec.stateStartedAt() == null ? clock.instant() : rec.stateStartedAt();
    UpgradeException interrupted = new UpgradeException(ErrorCode.INTERRUPTED, "the updater stopped during " + at
        + " (crash or kill); reconciled on the next start");
    try {
      switch (at) {
        case BEGIN, RESOLVE, DOWNLOAD, STAGE, GATE, STOP -> {
          restoreOld(rec.fromVersion());
          run.record = run.record.withError(ErrorCode.INTERRUPTED.name(), interrupted.getMessage());
          run.failNext(interrupted);
          run.end(Outcome.FAILED, ErrorCode.INTERRUPTED, interrupted.getMessage());
        }
        case SWITCH, START, VERIFY, ROLLBACK -> {
          if (rec.errorCode() == null) {
            run.record = run.record.withError(ErrorCode.INTERRUPTED.name(), interrupted.getMessage());
          }
          if (at != UpdateState.ROLLBACK) {
            run.failNext(interrupted);
            run.enter(UpdateState.ROLLBACK);
          }
          // An update goes back to where it came from; a manual rollback is finished.
          String back = manual ? rec.toVersion() : rec.fromVersion();
          try {
            rollbackTo(back);
            if (manual) {
              NodeState.read(home.nodeFile()).withBad(rec.fromVersion()).withPrevious(rec.fromVersion())
                  .write(home.nodeFile());
            }
            run.end(Outcome.ROLLED_BACK, manual && rec.errorCode() == null ? null
                : ErrorCode.valueOf(run.record.errorCode()), "rolled back to " + back + " after the interruption");
          } catch (UpgradeException r) {
            run.failNext(r);
            run.end(Outcome.FAILED, r.code(), "rollback after the interruption failed: " + r.getMessage());
          }
        }
        case COMMIT -> {
          String installed = home.currentVersion().orElse(null);
          if (installed != null && !service.isRunning() && config.service().process() != null) {
            service.start(installed);
          }
          NodeState.read(home.nodeFile()).withPrevious(rec.fromVersion()).withoutCrashes(rec.toVersion())
              .write(home.nodeFile());
          run.end(Outcome.COMMITTED, null, "now running " + rec.toVersion());
        }
        case END_ACTION, END -> {
          String installed = home.currentVersion().orElse(null);
          if (installed != null && !service.isRunning() && config.service().process() != null) {
            service.start(installed);
          }
          Outcome outcome = rec.outcome() == null ? Outcome.FAILED : Outcome.valueOf(rec.outcome());
          run.finishEndAction(outcome);
        }
        default -> throw new IllegalStateException("unknown state " + at);
      }
    } catch (UpgradeException e) {
      log.accept("reconciliation could not finish: " + e);
      throw e;
    }
    return null;
  }

  /**
   * The second half of a self-upgrade, in the process the launcher started after the switch. If
   * {@code current} is the new version, this process is it: it runs, so VERIFY passes and the
   * update commits. If the launcher switched back (the new version did not start), the event
   * ends rolled back and the release is marked bad here.
   */
  private Result finishSelfUpgrade(JournalRecord rec, UpdateState at) {
    Run run = new Run(rec);
    run.state = at;
    run.stateStart = rec.stateStartedAt() == null ? clock.instant() : rec.stateStartedAt();
    String installed = home.currentVersion().orElse(null);
    try {
      if (Objects.equals(installed, rec.toVersion())) {
        if (at != UpdateState.VERIFY) {
          run.enter(UpdateState.VERIFY);
        }
        run.skipNote = "the new updater version is running";
        run.enter(UpdateState.COMMIT);
        NodeState.read(home.nodeFile()).withPrevious(rec.fromVersion()).withoutCrashes(rec.toVersion())
            .write(home.nodeFile());
        Files.deleteIfExists(selfPrevious());
        return run.end(Outcome.COMMITTED, null, "now running " + installed + " (the updater itself)");
      } else {
        UpgradeException e = new UpgradeException(ErrorCode.START_FAILED, "updater " + rec.toVersion()
            + " did not start; bin/updater switched back to " + installed);
        run.record = run.record.withError(e.code().name(), e.getMessage());
        run.failNext(e);
        run.enter(UpdateState.ROLLBACK);
        if (installed == null) {
          Switcher.removeCurrent(home);
        }
        NodeState.read(home.nodeFile()).withBad(rec.toVersion()).write(home.nodeFile());
        Files.deleteIfExists(selfPrevious());
        return run.end(Outcome.ROLLED_BACK, e.code(), e.getMessage());
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot delete " + selfPrevious() + ": " + e, e);
    }
  }

  private Path selfPrevious() {
    return home.state().resolve("self-previous");
  }

  // ---------------------------------------------------------------- end action

  private void prune(Outcome outcome) {
    String current = home.currentVersion().orElse(null);
    String previous = NodeState.read(home.nodeFile()).previous();
    List<String> all = new ArrayList<>(home.versionsOnDisk());
    all.sort(Comparator.comparing(v -> modified(home.version(v))));
    List<String> keep = new ArrayList<>();
    if (current != null) {
      keep.add(current);
    }
    if (previous != null && !keep.contains(previous)) {
      keep.add(previous);
    }
    for (int i = all.size() - 1; i >= 0 && keep.size() < config.retention(); i--) {
      if (!keep.contains(all.get(i))) {
        keep.add(all.get(i));
      }
    }
    for (String v : all) {
      if (!keep.contains(v)) {
        try {
          FileTrees.deleteRecursively(home.version(v));
          Files.deleteIfExists(home.releases().resolve(v + ".json"));
          log.accept("pruned version " + v + " (retention " + config.retention() + ")");
        } catch (IOException e) {
          log.accept("cannot prune " + v + ": " + e.getMessage());
        }
      }
    }
    if (outcome == Outcome.COMMITTED || outcome == Outcome.STAGED) {
      try {
        FileTrees.deleteRecursively(home.cache());
      } catch (IOException e) {
        log.accept("cannot clear the download cache: " + e.getMessage());
      }
    }
  }

  private static Instant modified(Path p) {
    try {
      return Files.getLastModifiedTime(p).toInstant();
    } catch (IOException e) {
      return Instant.EPOCH;
    }
  }

  private Feedback report(JournalRecord rec, Outcome outcome) {
    List<StepReport> steps = rec.steps();
    if (steps.size() > Feedback.MAX_STEPS) {
      steps = steps.subList(steps.size() - Feedback.MAX_STEPS, steps.size());
    }
    String message = rec.message();
    if (message != null && message.length() > Feedback.MAX_MESSAGE_LENGTH) {
      message = message.substring(0, Feedback.MAX_MESSAGE_LENGTH);
    }
    return new Feedback(DocumentType.FEEDBACK.typeName(), rec.eventId(), 1, config.node().id(), config.app(),
        rec.fromVersion(), rec.toVersion() == null ? "unknown" : rec.toVersion(), UpdateState.END.name(),
        outcome.name(), steps, rec.errorCode(), message, rec.metrics().isEmpty() ? null : rec.metrics(),
        clock.instant());
  }

  private JournalRecord newRecord(String kind, String installed) {
    Instant now = clock.instant();
    return new JournalRecord(UUID.randomUUID().toString(), config.app(), config.node().id(), kind, installed, null, 0,
        UpdateState.BEGIN.name(), now, null, List.of(), null, null, Map.of(), now, null);
  }

  private static double finite(double d) {
    return Double.isFinite(d) ? d : 0;
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.INTERRUPTED, "interrupted during the watch window");
    }
  }

  /** One event's progress through the states: journal first, then the event. */
  private final class Run {
    JournalRecord record;
    UpdateState state;
    Instant stateStart;
    UpgradeException failure;
    String skipNote;
    /** A sentence for a step that went well but differently than usual (a fallback). */
    String stepNote;
    /** A code for such a step (STATE_RECOVERED), or null. */
    ErrorCode stepCode;

    Run(JournalRecord record) {
      this.record = record;
    }

    /** Marks the current state as failed with {@code e} when it is left. */
    void failNext(UpgradeException e) {
      failure = e;
    }

    void enter(UpdateState next) {
      Instant now = clock.instant();
      StepReport finished = null;
      String outcome = null;
      Duration took = Duration.ZERO;
      if (state != null) {
        took = Duration.between(stateStart, now);
        outcome = failure != null ? "FAILED" : skipNote != null ? "SKIPPED" : "OK";
        String message = failure != null ? failure.getMessage() : skipNote != null ? skipNote : stepNote;
        if (message != null && message.length() > Feedback.MAX_MESSAGE_LENGTH) {
          message = message.substring(0, Feedback.MAX_MESSAGE_LENGTH);
        }
        ErrorCode code = failure != null ? failure.code() : stepCode;
        finished = new StepReport(state.name(), stateStart, Math.max(0, took.toMillis()), outcome,
            code == null ? null : code.name(), message);
      }
      record = record.withState(next.name(), now, finished);
      journal.write(record); // durable before the state's work begins
      listener.accept(new UpdateEvent(record.eventId(), state, outcome, took, next,
          failure == null ? null : failure.code(), finished == null ? null : finished.message(), now));
      state = next;
      stateStart = now;
      failure = null;
      skipNote = null;
      stepNote = null;
      stepCode = null;
    }

    /** END_ACTION (outcome recorded first, so a crash here finishes the same way), then END. */
    Result end(Outcome outcome, ErrorCode code, String message) {
      record = record.withOutcome(outcome.name(), null);
      if (code != null && record.errorCode() == null) {
        record = record.withError(code.name(), message);
      }
      enter(UpdateState.END_ACTION);
      finishEndAction(outcome);
      return new Result(outcome, code, message, record.toVersion(), null);
    }

    void finishEndAction(Outcome outcome) {
      prune(outcome);
      boolean reportable = record.toVersion() != null
          || (record.errorCode() != null && !record.errorCode().equals(ErrorCode.INTERRUPTED.name()));
      if (reportable && config.feedback().url() != null) {
        outbox.put(report(record, outcome));
      }
      enter(UpdateState.END);
      record = record.withOutcome(outcome.name(), clock.instant());
      journal.finish(record);
    }
  }
}
