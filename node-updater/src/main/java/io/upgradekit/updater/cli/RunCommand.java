package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.engine.Daemon;
import io.upgradekit.updater.engine.ExitStatus;
import io.upgradekit.updater.engine.Heartbeats;
import io.upgradekit.updater.engine.PayloadApplier;
import io.upgradekit.updater.engine.CallListener;
import io.upgradekit.updater.engine.Sleeper;
import io.upgradekit.updater.engine.TransitionMetrics;
import io.upgradekit.updater.engine.UpdateEngine;
import io.upgradekit.updater.event.AgentEvent;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code updater run [--once] [--stage-only]}: the agent. */
@Command(name = "run", sortOptions = false, mixinStandardHelpOptions = true,
    description = {
        "Polls the repository and updates the target: lock, resolve, download, stage, gate, stop, switch, "
            + "start, verify, commit (or roll back), report.",
        "Without --once it runs until stopped, polling every poll.interval (+/- poll.jitter), backing off "
            + "exponentially after failures and honouring Retry-After. An update interrupted by a crash is "
            + "reconciled on the next start.",
        "One updater per target: a second 'run' (daemon or --once) that finds another updater working exits at "
            + "once with status 4, having changed nothing; a second daemon exits with 4 even while the first one "
            + "idles between polls (it holds state/daemon.lock for its whole life). A 'run --once' or 'rollback' "
            + "while a daemon idles goes ahead; the daemon polls again after its interval.",
        "Damaged state files (journal, node state, ...) are moved to state/damaged/ and rebuilt from current "
            + "and versions/ (STATE_RECOVERED); a full disk is reported as DISK_FULL with the live version "
            + "untouched. See docs/node-updater.md.",
        "Started by bin/updater (which sets UPGRADEKIT_LAUNCHER), the daemon exits with status 75 after an "
            + "update that committed, rolled back or staged, and after UPGRADEKIT_FRESH_JVM_POLLS polls, and "
            + "bin/updater starts a fresh JVM: the idle agent holds none of the memory an update used, and its "
            + "compiled code does not grow for ever."},
    exitCodeListHeading = "%nExit codes (with --once; the daemon exits with 0 when stopped, 2, 4 or 75):%n",
    exitCodeList = {
        "0:done, staged, or up to date; also when the release's rollout makes this node wait (its wave is not "
            + "open, no slot is free, the rollout is paused or halted, its state is stale): the line printed and "
            + "status say why; nothing live changed",
        "1:failed before the switch (network, disk, gate, stop); nothing live changed",
        "2:usage or configuration error",
        "3:refused: verification failed (signature, hash, expiry, older release); nothing live changed",
        "4:another updater holds the lock (or, without --once, another daemon runs); this one exited at once "
            + "and wrote nothing",
        "5:the new version failed after the switch and was rolled back",
        "75:self-upgrade: switched to a new updater version; bin/updater runs it, and it finishes the update. "
            + "Also the daemon's status after an update when bin/updater started it: it starts a fresh JVM"})
public final class RunCommand implements Callable<Integer> {
  @Mixin
  ConfigOption options;

  @Option(names = "--once", description = "Run one poll (and the update it finds), then exit with its status.")
  boolean once;

  @Option(names = "--stage-only", negatable = true, description = {
      "Stop after STAGE: the new version is downloaded, verified and on disk, nothing live changes. A later "
          + "run switches to it with only stop, switch and start in the window (preheat). Default: the "
          + "configuration's stageOnly; --no-stage-only switches even when stageOnly is set."})
  Boolean stageOnly;

  private final PayloadApplier applier;
  private final Consumer<AgentEvent> extraListener;
  private final PrintStream out;

  public RunCommand() {
    this(PayloadAppliers.standard(), e -> { }, System.err);
  }

  /** For tests and embedders: a specific applier and an extra event listener. */
  public RunCommand(PayloadApplier applier, Consumer<AgentEvent> extraListener, PrintStream out) {
    this.applier = applier;
    this.extraListener = extraListener;
    this.out = out;
  }

  @Override
  public Integer call() {
    UpdaterConfig config;
    try {
      config = options.load();
    } catch (UpgradeException e) {
      return ConfigOption.fail(out, e);
    }
    Console console = new Console(out, options.quiet);
    TransitionMetrics metrics = new TransitionMetrics(config.home().resolve("state/metrics.prom"), console.log());
    Consumer<AgentEvent> listener = console.andThen(metrics).andThen(extraListener);
    UpdateEngine engine = new UpdateEngine(config, applier, Clock.systemUTC(), listener);
    boolean stageOnly = this.stageOnly == null ? config.stageOnly() : this.stageOnly;
    try (Heartbeats heartbeats = engine.heartbeats()) {
      heartbeats.start(); // from the first poll under the lock; also for --once: a slot is held by them
      if (once) {
        UpdateEngine.Result result = engine.runOnce(stageOnly);
        report(result);
        return result.exitCode();
      }
      Daemon daemon = new Daemon(new Daemon.Options(config.poll(), relaunchedOn75(), freshJvmAfterPolls(),
          config.service().strategy() == UpdaterConfig.Strategy.SELF), Daemon.agentOf(engine, stageOnly,
          this::report), Clock.systemUTC(), Sleeper.wakeable(), new SplittableRandom(), listener);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> daemon.stop(STOP_GRACE), "updater-shutdown"));
      try (CallListener calls = engine.callListener(call -> daemon.call(call.reason(), call.pollWithin()))) {
        daemon.whenLocked(calls::start);
        return daemon.run();
      }
    }
  }

  /**
   * SIGTERM: no new poll starts, and a running update may finish for this long (below the systemd
   * unit's TimeoutStopSec). An update cut short is reconciled on the next start.
   */
  private static final Duration STOP_GRACE = Duration.ofSeconds(90);

  /** The environment variable bin/updater sets: it starts the agent again on status 75. */
  static final String LAUNCHER_VARIABLE = "UPGRADEKIT_LAUNCHER";

  /** Set by bin/updater: polls after which the daemon asks for a fresh JVM; 0 or absent: never. */
  static final String FRESH_JVM_VARIABLE = "UPGRADEKIT_FRESH_JVM_POLLS";

  private static int freshJvmAfterPolls() {
    try {
      return Math.max(0, Integer.parseInt(System.getenv().getOrDefault(FRESH_JVM_VARIABLE, "0").strip()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static boolean relaunchedOn75() {
    String launcher = System.getenv(LAUNCHER_VARIABLE);
    return launcher != null && !launcher.isBlank();
  }

  private void report(UpdateEngine.Result result) {
    String line = result.outcome().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
        + (result.code() == null ? "" : " [" + result.code() + "]")
        + (result.message() == null ? "" : ": " + result.message())
        + (result.outcome() == io.upgradekit.updater.event.Outcome.WAITING && result.retryAfter() != null
            ? " (the server asks again in " + result.retryAfter().toSeconds() + " s)" : "");
    // A wait exits 0 like "up to date", so its line is printed even when quiet: it is the only sign.
    if (result.exitCode() != ExitStatus.OK || result.outcome() == io.upgradekit.updater.event.Outcome.WAITING
        || !options.quiet) {
      out.println(line);
    }
  }
}
