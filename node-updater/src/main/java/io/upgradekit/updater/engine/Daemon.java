package io.upgradekit.updater.engine;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.SharedHttp;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * The agent's daemon ({@code updater run} without {@code --once}): holds the daemon lock for its
 * whole life, polls, waits between polls (interval ± jitter; after failures the interval doubled
 * per failure up to {@code poll.maxBackoff}; at least the server's {@code Retry-After}; while a
 * rollout makes the node wait, the server's {@code retryAfterSeconds} when it gave one), delivers
 * queued reports while it waits, and decides when its JVM should be replaced by a fresh one. Time
 * and randomness are injected, so the loop is tested without waiting.
 *
 * <p>It ends with an exit status ({@link ExitStatus}): 4 when another daemon holds the daemon lock,
 * or when another updater holds the update lock at the first poll; 75 after a self-upgrade
 * switched (the launcher runs the new version); 75 when started by {@code bin/updater} after an
 * update that changed something, and after {@code freshJvmAfterPolls} polls without failures (a
 * fresh JVM starts small); 0 after {@link #stop}. Later LOCKED polls (an operator's {@code run
 * --once} or {@code rollback}) are not failures: the next poll comes after the usual interval.
 */
public final class Daemon {
  /** The longest single wait, so that a stop or a report to deliver is noticed within it. */
  static final Duration WAIT_SLICE = Duration.ofSeconds(1);

  /** No poll comes sooner than this after the last, whatever the configuration or the server says. */
  static final Duration MIN_WAIT = Duration.ofSeconds(1);

  /** What the daemon drives: an engine in production, a fake in tests. */
  public interface Agent {
    /** The daemon lock (held for the daemon's life). @throws UpgradeException LOCKED when another daemon runs */
    AutoCloseable lockDaemon();

    /** One poll under the update lock, and the update it finds. */
    Result poll();

    /** Whether reports wait in the outbox. */
    boolean reportsPending();

    /** Delivers queued reports, honouring the outbox's backoff. */
    void deliverReports();

    /** Hands back what an update allocated (connections, heap) while idle. */
    void releaseMemory();
  }

  /**
   * @param poll the configured interval, jitter and maximum backoff
   * @param underLauncher started by {@code bin/updater}, which starts the agent again on status 75
   * @param freshJvmAfterPolls polls after which a daemon under the launcher asks for a fresh JVM; 0: never
   * @param selfUpgrade the target is this updater ({@code service.strategy: self})
   */
  public record Options(UpdaterConfig.Poll poll, boolean underLauncher, int freshJvmAfterPolls, boolean selfUpgrade) {
    public Options {
      Objects.requireNonNull(poll, "poll");
      freshJvmAfterPolls = underLauncher ? Math.max(0, freshJvmAfterPolls) : 0;
    }
  }

  private final Options options;
  private final Agent agent;
  private final Clock clock;
  private final Sleeper sleeper;
  private final RandomGenerator random;
  private final Consumer<AgentEvent> listener;
  private volatile boolean stopping;
  private volatile boolean busy;
  /** Why the repository called the node since the wait began (a rollout needs it now), or null. */
  private volatile String called;
  /** The moment within which the called node polls (set before {@link #called}). */
  private volatile Duration calledWithin = Duration.ZERO;
  private volatile Runnable whenLocked = () -> { };

  public Daemon(Options options, Agent agent, Clock clock, Sleeper sleeper, RandomGenerator random,
      Consumer<AgentEvent> listener) {
    this.options = Objects.requireNonNull(options, "options");
    this.agent = Objects.requireNonNull(agent, "agent");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    this.random = Objects.requireNonNull(random, "random");
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /**
   * The production agent: {@code engine}'s polls (each result given to {@code results}), its
   * outbox, and {@link SharedHttp#release()} plus a GC to hand memory back.
   */
  public static Agent agentOf(UpdateEngine engine, boolean stageOnly, Consumer<Result> results) {
    return new Agent() {
      @Override
      public AutoCloseable lockDaemon() {
        return engine.lockDaemon();
      }

      @Override
      public Result poll() {
        Result result = engine.runOnce(stageOnly);
        results.accept(result);
        return result;
      }

      @Override
      public boolean reportsPending() {
        return !engine.outbox().pending().isEmpty();
      }

      @Override
      public void deliverReports() {
        engine.deliverReports(false);
      }

      @Override
      public void releaseMemory() {
        SharedHttp.release();
        System.gc();
      }
    };
  }

  /** Runs until stopped or until a status asks for an exit; returns the exit status. */
  public int run() {
    AutoCloseable lock;
    try {
      lock = agent.lockDaemon();
    } catch (UpgradeException e) {
      note(AgentEvent.Level.ERROR, e.toString());
      return ExitStatus.of(e.code()); // LOCKED: a second daemon exits at once with status 4
    }
    try (lock) {
      whenLocked.run();
      return loop();
    } catch (Exception e) {
      throw new IllegalStateException("cannot release the daemon lock: " + e, e);
    }
  }

  private int loop() {
    boolean first = true;
    int failures = 0;
    int polls = 0;
    while (!stopping) {
      Result result = pollOnce();
      if (result.outcome() == Outcome.REEXEC) {
        return result.exitCode(); // bin/updater runs the new version, which finishes the update
      }
      if (result.outcome() == Outcome.LOCKED && first) {
        return result.exitCode(); // another updater was working when this one started: exit at once (4)
      }
      first = false;
      // A self-upgrade ends in this process only when it is the fresh JVM that finished it.
      if (changedSomething(result.outcome()) && options.underLauncher() && !options.selfUpgrade()) {
        // A JVM never hands back the classes, compiled code and native memory an update loaded:
        // bin/updater starts a fresh one, which idles as small as an agent that has only polled.
        note(AgentEvent.Level.INFO, "restarting the agent after the update to release its memory (bin/updater "
            + "starts it again on status " + ExitStatus.RESTART + ")");
        return ExitStatus.RESTART;
      }
      boolean waiting = result.outcome() == Outcome.WAITING;
      if (result.outcome() != Outcome.UP_TO_DATE && !waiting) {
        agent.releaseMemory(); // an update loads and allocates far more than a poll
      }
      boolean failed = result.outcome() == Outcome.FAILED || result.outcome() == Outcome.REFUSED;
      failures = failed ? failures + 1 : 0;
      // Waiting for the rollout is not a failure: ask again when the server said, else after the interval.
      waitDelivering(waiting && result.retryAfter() != null ? atLeastMinWait(result.retryAfter())
          : nextWait(options.poll(), failures, result.retryAfter(), random));
      polls++;
      if (options.freshJvmAfterPolls() > 0 && polls >= options.freshJvmAfterPolls() && failures == 0 && !stopping) {
        // Compiled code only grows while the same poll runs again and again; a fresh JVM (a second
        // of CPU) starts small. The next poll is due now: the fresh JVM polls at once.
        note(AgentEvent.Level.INFO, "starting a fresh agent JVM after " + polls + " polls (bin/updater starts it "
            + "again on status " + ExitStatus.RESTART + ")");
        return ExitStatus.RESTART;
      }
    }
    return ExitStatus.OK;
  }

  private Result pollOnce() {
    busy = true;
    try {
      return agent.poll();
    } catch (UpgradeException e) {
      note(AgentEvent.Level.ERROR, e.toString());
      return Result.failed(e);
    } finally {
      busy = false;
    }
  }

  private static boolean changedSomething(Outcome outcome) {
    return outcome == Outcome.COMMITTED || outcome == Outcome.ROLLED_BACK || outcome == Outcome.STAGED;
  }

  /**
   * The wait before the next poll: the interval ± jitter (uniform); after {@code failures}
   * consecutive failures the interval times 2^failures, capped at {@code maxBackoff}, ± jitter; at
   * least {@code retryAfter} when the server sent one; never less than {@link #MIN_WAIT}.
   */
  static Duration nextWait(UpdaterConfig.Poll poll, int failures, Duration retryAfter, RandomGenerator random) {
    long base = poll.interval().toMillis();
    if (failures > 0) {
      base = Math.min(poll.maxBackoff().toMillis(), base << Math.min(failures, 20));
    }
    long jitter = poll.jitter().toMillis();
    long wait = base + (jitter == 0 ? 0 : random.nextLong(-jitter, jitter + 1));
    if (retryAfter != null) {
      wait = Math.max(wait, retryAfter.toMillis());
    }
    return Duration.ofMillis(Math.max(MIN_WAIT.toMillis(), wait));
  }

  private static Duration atLeastMinWait(Duration wait) {
    return wait.compareTo(MIN_WAIT) < 0 ? MIN_WAIT : wait;
  }

  /** Waits {@code wait} in slices, delivering queued reports between them, until then or a stop. */
  private void waitDelivering(Duration wait) {
    Instant end = clock.instant().plus(wait);
    while (!stopping) {
      String call = called;
      if (call != null) {
        called = null;
        // The server spreads a wave's nodes over a moment: each polls at a random point within it.
        long within = calledWithin.toMillis();
        long delay = within <= 0 ? 0 : random.nextLong(within + 1);
        note(AgentEvent.Level.INFO, "called: " + call + "; polling " + (delay == 0 ? "now" : "in " + delay + " ms"));
        Instant soon = clock.instant().plusMillis(delay);
        if (delay == 0) {
          return;
        }
        if (soon.isBefore(end)) {
          end = soon;
        }
      }
      Duration left = Duration.between(clock.instant(), end);
      if (left.isNegative() || left.isZero()) {
        return;
      }
      try {
        sleeper.sleep(left.compareTo(WAIT_SLICE) < 0 ? left : WAIT_SLICE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (agent.reportsPending()) {
        agent.deliverReports();
      }
    }
  }

  /** Runs {@code action} once the daemon holds its lock (a second daemon, which exits at once, never runs it). */
  public void whenLocked(Runnable action) {
    whenLocked = Objects.requireNonNull(action, "action");
  }

  /**
   * The repository called the node ({@link CallListener}): the wait under way ends and the next
   * poll comes at a random moment within {@code within} (the server's spread of a wave; zero: at
   * once), never sooner than the poll under way ends. Thread-safe.
   */
  public void call(String reason, Duration within) {
    calledWithin = within == null || within.isNegative() ? Duration.ZERO : within;
    called = reason;
    sleeper.wake();
  }

  /**
   * Stops the daemon (SIGTERM): no new poll starts, and a poll under way may finish for up to
   * {@code grace} (below the systemd unit's TimeoutStopSec). An update cut short is reconciled on
   * the next start. Called from a shutdown hook.
   */
  public void stop(Duration grace) {
    stopping = true;
    sleeper.wake();
    Instant end = clock.instant().plus(grace);
    while (busy && clock.instant().isBefore(end)) {
      try {
        sleeper.sleep(Duration.ofMillis(100));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void note(AgentEvent.Level level, String message) {
    listener.accept(new AgentEvent.Note(null, null, level, message, clock.instant()));
  }
}
