package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.config.UpdaterConfig.Strategy;
import io.upgradekit.updater.download.HttpFailure;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.health.MetricsSampler;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.StateFiles;
import io.upgradekit.updater.process.ServiceController;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An update, from BEGIN to END: resolve, and if the channel moved, the whole state machine. A
 * failure anywhere ends the event by its state's {@link UpdateState#onFailure() failure policy}.
 */
final class UpdateFlow {
  /**
   * Codes with which a delta from the installed tree can fail to apply although the full package
   * of the same signed release may be fine: the delta names another base, produces another tree, or
   * is not a valid delta.
   */
  private static final Set<ErrorCode> DELTA_FAULTS =
      EnumSet.of(ErrorCode.BASE_MISMATCH, ErrorCode.HASH_MISMATCH, ErrorCode.PATCH_MALFORMED);

  private final Parts parts;
  private final UpdaterConfig config;
  private final Home home;
  private final ServiceController service;
  private final Rollbacks rollbacks;
  private final StateRecovery recovery;
  private final Map<String, Boolean> plans;
  private final java.util.function.Consumer<EventRun> onStart;

  /** @param plans whether a kept release manifest carries a rollout plan, by version (the engine's memory) */
  UpdateFlow(Parts parts, Rollbacks rollbacks, StateRecovery recovery, Map<String, Boolean> plans) {
    this(parts, rollbacks, recovery, plans, run -> { });
  }

  /** @param onStart told of the event when it starts (a drill marks its second leg) */
  UpdateFlow(Parts parts, Rollbacks rollbacks, StateRecovery recovery, Map<String, Boolean> plans,
      java.util.function.Consumer<EventRun> onStart) {
    this.onStart = onStart;
    this.parts = parts;
    this.plans = plans;
    this.config = parts.config();
    this.home = parts.home();
    this.service = parts.service();
    this.rollbacks = rollbacks;
    this.recovery = recovery;
  }

  /** @param stageOnly stop after STAGE (preheat) */
  Result run(boolean stageOnly) {
    String installed = home.currentVersion().orElse(null);
    EventRun run = EventRun.start(parts, EventKind.UPDATE, installed, null);
    onStart.accept(run);
    Result result;
    try {
      result = update(run, installed, stageOnly);
    } catch (UpgradeException e) {
      result = fail(run, e);
    } catch (RuntimeException e) {
      result = fail(run, new UpgradeException(ErrorCode.IO_ERROR, "unexpected failure: " + e, e));
    }
    if (result.outcome() != Outcome.WAITING) {
      NodeState node = NodeState.read(home.nodeFile());
      if (node.waiting() != null) {
        node.withWaiting(null).write(home.nodeFile()); // the wait is over, whichever way
      }
    }
    return result;
  }

  private Result update(EventRun run, String installed, boolean stageOnly) {
    run.enter(UpdateState.RESOLVE);
    Resolver resolver = new Resolver(config, home, parts.client(), parts.clock());
    Resolver.Resolution res = resolve(run, resolver, installed);
    Result recalled = recallIfOrdered(run, resolver, installed, res.verifier());
    if (recalled != null) {
      return recalled;
    }
    if (res.upToDate() && retryAllowed(resolver, res)) {
      res = resolve(run, resolver, installed);
    }
    if (res.upToDate()) {
      run.discard();
      if (installed != null && config.service().process() != null && !service.isRunning()) {
        parts.events().info("the service is not running; starting " + installed);
        service.start(installed);
      }
      return new Result(Outcome.UP_TO_DATE, null, res.note(), installed, null);
    }
    ReleaseManifest manifest = res.manifest();
    String target = manifest.version();
    run.target(target, manifest.sequence());
    int crashes = NodeState.read(home.nodeFile()).crashes().getOrDefault(target, 0);
    if (crashes >= config.maxCrashes()) {
      NodeState.read(home.nodeFile()).withBad(target).write(home.nodeFile());
      throw new UpgradeException(ErrorCode.CRASH_LOOP, "the updater was interrupted " + crashes
          + " times while installing " + target + "; the release is marked bad on this node");
    }

    boolean planned = manifest.rollout() != null;
    // While the rollout makes the node wait, each poll asks again; the version it staged for that
    // wait is not downloaded and verified on every poll, but verified once more before its slot
    // is confirmed.
    NodeState.Wait waiting = planned ? NodeState.read(home.nodeFile()).waiting() : null;
    boolean stagedForTheWait = waiting != null && waiting.version().equals(target) && waiting.kind().equals("upgrade")
        && home.versionsOnDisk().contains(target) && !stageOnly;
    if (stagedForTheWait) {
      run.enter(UpdateState.DOWNLOAD);
      run.skip("staged by an earlier run; waiting for the rollout");
      run.enter(UpdateState.STAGE);
      run.skip("versions/" + target + " was staged by an earlier run; it is verified again before the slot is "
          + "confirmed");
    } else {
      run.enter(UpdateState.DOWNLOAD);
      Path blob = download(res.blob(), res.deltaBase() == null ? "package" : "delta", manifest);

      run.enter(UpdateState.STAGE);
      try {
        parts.stager().stage(manifest, blob, res.deltaBase());
      } catch (UpgradeException e) {
        if (res.deltaBase() == null || !DELTA_FAULTS.contains(e.code())) {
          throw e;
        }
        fallBackToThePackage(run, res, manifest, blob, e);
      }
      resolver.rememberManifest(target, res.manifestBytes());
    }
    if (stageOnly) {
      return run.end(Outcome.STAGED, null, "staged " + target + "; run again without --stage-only to switch");
    }

    run.enter(UpdateState.GATE);
    if (planned) {
      Runnable beforeConfirm = stagedForTheWait ? () -> verifyStaged(manifest) : () -> { };
      RolloutGate.Decision decision = rollout().upgrade(run, target, manifest.rollout().set(), res.verifier(),
          beforeConfirm);
      if (decision instanceof RolloutGate.Wait wait) {
        return waiting(run, target, "upgrade", wait);
      }
    } else if (config.gate().claims() || config.gate().rolloutState()) {
      gate().await(target, res.verifier());
    } else {
      run.skip("no rollout gate configured");
    }

    run.enter(UpdateState.STOP);
    MetricsSampler.Sample baseline = sampleBaseline(run, installed);
    boolean gated = config.service().startGate() != null;
    switch (config.service().strategy()) {
      case RESTART -> {
        if (gated) {
          run.skip("restart with a start gate: the old version serves until the new one is ready at its gate");
        } else {
          service.stopAll();
        }
      }
      case OVERLAP -> run.skip("overlap: the old version keeps serving until the new one is healthy");
      case SELF -> {
        run.skip("self-upgrade: this updater runs until it re-executes");
        // Read by bin/updater: where to switch back if the new version cannot start.
        byte[] previous = (installed == null ? "" : installed).getBytes(StandardCharsets.US_ASCII);
        StateFiles.write(parts.selfPrevious(), previous);
      }
    }

    run.enter(UpdateState.SWITCH);
    Switcher.switchTo(home, target);

    run.enter(UpdateState.START);
    if (config.service().strategy() == Strategy.SELF) {
      // The journal stays at START: the new version, run by the launcher, verifies and commits.
      run.handOver();
      return new Result(Outcome.REEXEC, null, "switched to " + target + "; exiting with status "
          + ExitStatus.RESTART + " so that bin/updater runs the new version", target, null);
    }
    if (gated) {
      ServiceController.StartGate gate = service.startGated(target);
      service.stopAllBut(target); // drain: the old version stops only now, and the new one accepts at once
      gate.open();
    } else {
      service.start(target);
    }
    if (config.service().strategy() == Strategy.OVERLAP) {
      if (config.health().url() != null && !config.health().url().perProcess()) {
        parts.events().warn("health.url reaches whichever process the kernel picks while both versions listen; "
            + "with {processPort} in it the check reaches only the new one (docs/node-updater.md, overlap)");
      }
      // The old process keeps serving until the new one passes this check on its own.
      note(parts.health().awaitHealthy(target, () -> service.runningVersions().contains(target)));
      service.stopAllBut(target); // drain: SIGTERM, the old process finishes in-flight requests
    }

    run.enter(UpdateState.VERIFY);
    note(parts.health().awaitHealthy(target, () -> rollbacks.runningOrUnknown(target)));
    new WatchWindow(parts).watch(run, baseline, manifest);

    run.enter(UpdateState.COMMIT);
    NodeState.read(home.nodeFile()).withPrevious(installed).withoutCrashes(target).write(home.nodeFile());
    return run.end(Outcome.COMMITTED, null, "now running " + target);
  }

  /**
   * RESOLVE. After a refusal (or an I/O error) the damage may be in this node's own copies of the
   * metadata: they are dropped and RESOLVE runs once more; if that passes, the step says so with
   * STATE_RECOVERED.
   */
  private Resolver.Resolution resolve(EventRun run, Resolver resolver, String installed) {
    try {
      return resolver.resolve(installed, NodeState.read(home.nodeFile()), s -> s.write(home.nodeFile()));
    } catch (UpgradeException e) {
      if (!e.code().isRefusal() && e.code() != ErrorCode.IO_ERROR) {
        throw e; // the network or the server, not this node's copies
      }
      List<String> dropped = recovery.dropCachedMetadata(installed);
      if (dropped.isEmpty()) {
        throw e;
      }
      parts.events().warn("RESOLVE failed (" + e + "); " + String.join("; ", dropped) + "; resolving once more");
      Resolver.Resolution res = resolver.resolve(installed, NodeState.read(home.nodeFile()),
          s -> s.write(home.nodeFile()));
      String note = "this node's copy of the metadata was unusable (" + e.getMessage() + "): "
          + String.join("; ", dropped) + "; resolved afresh from the repository";
      run.stepNote(note, ErrorCode.STATE_RECOVERED);
      parts.events().warn(ErrorCode.STATE_RECOVERED + ": " + note);
      return res;
    }
  }

  private Gate gate() {
    return new Gate(config, parts.client(), parts.clock(), parts.events().info());
  }

  private RolloutGate rollout() {
    return new RolloutGate(parts);
  }

  /**
   * A recall of the installed release, when its signed rollout state orders one: for a release
   * with a plan, with a recall slot (asked when this node's wave is in the recall), back to the
   * version this node came from; with {@code gate.rolloutState} for a release without a plan, to
   * the state's {@code recallTo} as before. Null when nothing is ordered.
   */
  private Result recallIfOrdered(EventRun run, Resolver resolver, String installed, MetadataVerifier verifier) {
    if (installed == null) {
      return null;
    }
    if (!hasPlan(resolver, installed)) {
      if (config.gate().rolloutState()) {
        String recallTo = gate().recallTarget(installed, verifier);
        if (recallTo != null && !recallTo.equals(installed)) {
          return rollbacks.recall(run, installed, recallTo, null);
        }
      }
      return null;
    }
    RolloutState order = rollout().recallOrder(installed, verifier);
    if (order == null) {
      return null;
    }
    String previous = NodeState.read(home.nodeFile()).previous();
    List<String> onDisk = home.versionsOnDisk();
    // Each node goes back to the version it came from; the state's recallTo is the fleet's.
    String to = previous != null && onDisk.contains(previous) ? previous : order.recallTo();
    if (to.equals(installed) || !onDisk.contains(to)) {
      return rollbacks.recall(run, installed, to, null); // refused: nothing to go back to
    }
    run.kind(EventKind.RECALL);
    run.target(to, 0);
    RolloutGate.Wait notYet = rollout().recallNotYet(installed, order);
    if (notYet != null) {
      return waiting(run, installed, "recall", notYet);
    }
    RolloutGate.Decision decision = rollout().lease(run, installed, LeaseGrant.Kind.RECALL, order, verifier, () -> { });
    if (decision instanceof RolloutGate.Wait wait) {
      return waiting(run, installed, "recall", wait);
    }
    String reason = ((RolloutGate.Go) decision).reason();
    return rollbacks.recall(run, installed, to, reason == null || reason.isBlank()
        ? "the rollout of " + installed + " was recalled (rollout state " + order.sequence() + ")" : reason);
  }

  /**
   * The channel points at a release that failed here (so RESOLVE found nothing to do): with a
   * plan, the rollout's operator may let this node try it again ({@link RolloutGate#retry}).
   */
  private boolean retryAllowed(Resolver resolver, Resolver.Resolution res) {
    String pointed = res.pointer().version();
    if (!NodeState.read(home.nodeFile()).badReleases().contains(pointed) || !hasPlan(resolver, pointed)) {
      return false;
    }
    return rollout().retry(pointed, res.verifier());
  }

  /** Whether the kept manifest of {@code version} (verified when it was staged) carries a rollout plan. */
  private boolean hasPlan(Resolver resolver, String version) {
    Boolean known = plans.get(version);
    if (known != null) {
      return known;
    }
    try {
      // Parsed once per engine: a manifest may be 2 MiB, and the daemon polls every minute.
      Boolean planned = resolver.installedManifest(version).map(m -> m.rollout() != null).orElse(null);
      if (planned != null) {
        plans.put(version, planned);
      }
      return planned != null && planned;
    } catch (UpgradeException e) {
      parts.events().warn("cannot read the kept manifest of " + version + " (" + e.getMessage() + "); its rollout "
          + "is not followed in this run");
      return false;
    }
  }

  /**
   * The rollout makes the node wait: nothing live changed. History gets the wait only when its
   * reason changed since the last poll (a poll with the same answer leaves no entry); node state
   * keeps it for {@code status}. Not reported to the server, whose answer it is.
   */
  private Result waiting(EventRun run, String version, String kind, RolloutGate.Wait wait) {
    NodeState node = NodeState.read(home.nodeFile());
    NodeState.Wait now = new NodeState.Wait(version, kind, wait.code().name(), wait.message(), parts.clock().instant());
    String next = wait.retryAfter() == null ? "" : "; asking again in " + wait.retryAfter().toSeconds() + " s";
    if (now.sameAs(node.waiting())) {
      run.discard();
      return new Result(Outcome.WAITING, wait.code(), wait.message(), version, wait.retryAfter());
    }
    node.withWaiting(now).write(home.nodeFile());
    parts.events().info(wait.message() + " [" + wait.code() + "]" + next);
    run.stepNote(wait.message(), wait.code());
    Result r = run.end(Outcome.WAITING, wait.code(), wait.message());
    return new Result(r.outcome(), r.code(), r.message(), r.version(), wait.retryAfter());
  }

  /** The version staged by an earlier run, checked once more before the slot is confirmed. */
  private void verifyStaged(ReleaseManifest manifest) {
    try {
      Trees.verify(home.version(manifest.version()), manifest.payload());
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot verify versions/" + manifest.version() + ": " + e, e);
    }
  }

  /** STOP's first part: the baseline of the running version, for the watch window. */
  private MetricsSampler.Sample sampleBaseline(EventRun run, String installed) {
    if (parts.metrics() == null) {
      return null;
    }
    MetricsSampler.Sample baseline;
    try {
      baseline = parts.metrics().baseline(installed, config.watch().interval());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.INTERRUPTED, "interrupted while sampling the baseline");
    }
    if (baseline != null) {
      run.metrics(Map.of("baseline.error_rate", finite(baseline.errorRate()), "baseline.latency",
          finite(baseline.latency())));
    }
    return baseline;
  }

  /**
   * The delta listed for the installed tree did not apply: the failed STAGE is recorded with its
   * code, the delta is remembered in node state (RESOLVE skips it from now on), and the same
   * signed manifest's full package is downloaded (same size and free-disk checks) and staged, once.
   * A failure of the package ends the update as any staging failure does.
   */
  private void fallBackToThePackage(EventRun run, Resolver.Resolution res, ReleaseManifest manifest, Path delta,
      UpgradeException e) {
    String sha = res.blob().sha256();
    NodeState.read(home.nodeFile()).withBadDelta(sha).write(home.nodeFile());
    try {
      Files.deleteIfExists(delta);
    } catch (IOException ignored) {
      // the cache is cleared after the update anyway
    }
    parts.events().warn("the delta from " + res.deltaBase() + " to " + manifest.version() + " (" + sha
        + ") does not apply [" + e.code() + "]: " + e.getMessage()
        + "; falling back to the full package of the same release");
    run.failNext(new UpgradeException(e.code(), "the delta from " + res.deltaBase() + " does not apply: "
        + e.getMessage() + " (the full package follows; this delta is not tried again on this node)", e));
    run.enter(UpdateState.DOWNLOAD);
    run.stepNote("fallback: the full package, after the delta from " + res.deltaBase() + " failed with " + e.code(),
        null);
    Path pkg = download(manifest.packageBlob(), "package", manifest);
    run.enter(UpdateState.STAGE);
    run.stepNote("fallback: staged from the full package", null);
    parts.stager().stage(manifest, pkg, null);
  }

  /**
   * DOWNLOAD of one blob of {@code manifest}: the size limit and the free-disk check first (before
   * any byte), then the resumable, hash-checked download into the cache.
   */
  private Path download(BlobRef blob, String what, ReleaseManifest manifest) {
    if (blob.size() > config.limits().maxDownloadBytes()) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, "the " + what + " of " + manifest.version() + " is "
          + blob.size() + " bytes, more than limits.maxDownloadSize (" + config.limits().maxDownloadBytes() + ")");
    }
    requireFreeDisk(blob.size() + manifest.payload().totalSize());
    return parts.client().downloadBlob(blob, home.cache(), bytes -> parts.events().progress(bytes, blob.size()));
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

  /**
   * Ends the event after a failure in its current state, by that state's failure policy. A failure
   * in END_ACTION itself (the outcome is recorded already) is not an event's failure: it goes up,
   * and the next start finishes the event from its journal.
   */
  private Result fail(EventRun run, UpgradeException e) {
    UpdateState at = run.state();
    if (at == UpdateState.END_ACTION || at == UpdateState.END) {
      throw e;
    }
    run.error(e);
    switch (at.onFailure()) {
      case ROLL_BACK -> {
        return rollbacks.afterFailure(run, e);
      }
      case RESTORE_OLD -> rollbacks.restoreOld(run.fromVersion());
      case NOTHING, FINISH -> { }
    }
    run.failNext(e);
    Result r = run.end(Outcome.ofFailure(e.code()), e.code(), e.getMessage());
    Duration retryAfter = e instanceof HttpFailure h ? h.retryAfter() : null;
    return new Result(r.outcome(), r.code(), r.message(), r.version(), retryAfter);
  }

  private void note(String note) {
    if (note != null) {
      parts.events().info(note);
    }
  }

  private static double finite(double d) {
    return Double.isFinite(d) ? d : 0;
  }
}
