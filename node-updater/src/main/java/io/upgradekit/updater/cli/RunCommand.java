package io.upgradekit.updater.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.SharedHttp;
import io.upgradekit.updater.engine.Outcome;
import io.upgradekit.updater.engine.PayloadApplier;
import io.upgradekit.updater.engine.TargetLock;
import io.upgradekit.updater.engine.TransitionMetrics;
import io.upgradekit.updater.engine.UpdateEngine;
import io.upgradekit.updater.engine.UpdateEvent;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
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
        "0:done, staged, or up to date",
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
  private final Consumer<UpdateEvent> extraListener;
  private final PrintStream out;
  private volatile boolean stopping;
  private volatile boolean busy;

  public RunCommand() {
    this(PayloadAppliers.standard(), e -> { }, System.err);
  }

  /** For tests and embedders: a specific applier and an extra event listener. */
  public RunCommand(PayloadApplier applier, Consumer<UpdateEvent> extraListener, PrintStream out) {
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
    Consumer<UpdateEvent> listener = console.events().andThen(metrics).andThen(extraListener);
    UpdateEngine engine = new UpdateEngine(config, applier, Clock.systemUTC(), listener, console.log(),
        console.progress());
    if (once) {
      UpdateEngine.Result result = engine.runOnce(stageOnly(config));
      report(result);
      return result.exitCode();
    }
    TargetLock daemonLock;
    try {
      daemonLock = engine.lockDaemon();
    } catch (UpgradeException e) {
      return ConfigOption.fail(out, e); // LOCKED: a second daemon exits at once with status 4
    }
    try (daemonLock) {
      return daemon(config, engine);
    }
  }

  private int daemon(UpdaterConfig config, UpdateEngine engine) {
    Runtime.getRuntime().addShutdownHook(new Thread(this::stopAfterCycle, "updater-shutdown"));
    boolean first = true;
    int failures = 0;
    int polls = 0;
    int freshJvmAfterPolls = relaunchedOn75() ? freshJvmAfterPolls() : 0;
    while (!stopping) {
      UpdateEngine.Result result;
      busy = true;
      try {
        result = engine.runOnce(stageOnly(config));
        report(result);
      } catch (UpgradeException e) {
        out.println("error: " + e);
        result = new UpdateEngine.Result(Outcome.FAILED, e.code(), e.getMessage(), null, null);
      } finally {
        busy = false;
      }
      if (result.outcome() == Outcome.REEXEC) {
        return result.exitCode(); // bin/updater runs the new version, which finishes the update
      }
      if (result.outcome() == Outcome.LOCKED && first) {
        return result.exitCode(); // another updater was working when this one started: exit at once (4)
      }
      // Later, LOCKED means an operator's 'run --once' or 'rollback' holds the update lock while this
      // daemon idled: not a failure, the next poll comes after the usual interval.
      first = false;
      // A self-upgrade ends in this process only when it is the fresh JVM that finished it.
      if (changedSomething(result.outcome()) && relaunchedOn75()
          && config.service().strategy() != UpdaterConfig.Strategy.SELF) {
        // A JVM never hands back the classes, compiled code and native memory an update loaded:
        // bin/updater starts a fresh one, which idles as small as an agent that has only polled.
        out.println("restarting the agent after the update to release its memory (bin/updater starts it "
            + "again on status " + Outcome.REEXEC_STATUS + ")");
        return Outcome.REEXEC_STATUS;
      }
      if (result.outcome() != Outcome.UP_TO_DATE) {
        // An update loads and allocates far more than a poll; hand the heap back while idle.
        SharedHttp.release();
        System.gc();
      }
      boolean failed = result.outcome() == Outcome.FAILED || result.outcome() == Outcome.REFUSED;
      failures = failed ? failures + 1 : 0;
      Duration wait = nextWait(config.poll(), failures, result.retryAfter());
      sleepDelivering(engine, wait);
      polls++;
      if (freshJvmAfterPolls > 0 && polls >= freshJvmAfterPolls && failures == 0 && !stopping) {
        // Compiled code only grows while the same poll runs again and again; a fresh JVM (a second
        // of CPU) starts small. The next poll is due now: the fresh JVM polls at once.
        out.println("starting a fresh agent JVM after " + polls + " polls (bin/updater starts it again on status "
            + Outcome.REEXEC_STATUS + ")");
        return Outcome.REEXEC_STATUS;
      }
    }
    return 0;
  }

  /** The environment variable bin/updater sets: it starts the agent again on status 75. */
  static final String LAUNCHER_VARIABLE = "UPGRADEKIT_LAUNCHER";

  private static boolean changedSomething(Outcome outcome) {
    return outcome == Outcome.COMMITTED || outcome == Outcome.ROLLED_BACK || outcome == Outcome.STAGED;
  }

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

  /**
   * SIGTERM: no new poll starts, and a running update may finish (up to {@value #STOP_GRACE_SECONDS}
   * s, below the systemd unit's TimeoutStopSec). An update cut short is reconciled on the next start.
   */
  private void stopAfterCycle() {
    stopping = true;
    long end = System.nanoTime() + STOP_GRACE_SECONDS * 1_000_000_000L;
    while (busy && System.nanoTime() < end) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static final long STOP_GRACE_SECONDS = 90;

  private boolean stageOnly(UpdaterConfig config) {
    return stageOnly == null ? config.stageOnly() : stageOnly;
  }

  /** Interval +/- jitter; after failures, interval * 2^n capped at maxBackoff; at least Retry-After. */
  static Duration nextWait(UpdaterConfig.Poll poll, int failures, Duration retryAfter) {
    long base = poll.interval().toMillis();
    if (failures > 0) {
      base = Math.min(poll.maxBackoff().toMillis(), base << Math.min(failures, 20));
    }
    long jitter = poll.jitter().toMillis();
    long wait = base + (jitter == 0 ? 0 : ThreadLocalRandom.current().nextLong(-jitter, jitter + 1));
    if (retryAfter != null) {
      wait = Math.max(wait, retryAfter.toMillis());
    }
    return Duration.ofMillis(Math.max(1000, wait));
  }

  private void sleepDelivering(UpdateEngine engine, Duration wait) {
    long end = System.nanoTime() + wait.toNanos();
    while (!stopping && System.nanoTime() < end) {
      try {
        Thread.sleep(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
      } catch (InterruptedException e) {
        return;
      }
      if (!engine.outbox().pending().isEmpty()) {
        engine.deliverReports(false);
      }
    }
  }

  private void report(UpdateEngine.Result result) {
    String line = result.outcome().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
        + (result.code() == null ? "" : " [" + result.code() + "]")
        + (result.message() == null ? "" : ": " + result.message());
    if (result.outcome().exitCode() != 0 || !options.quiet) {
      out.println(line);
    }
  }
}
