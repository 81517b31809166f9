package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The daemon's loop with a fake clock and a sleeper that only moves it: backoff, Retry-After,
 * jitter, when a fresh JVM is asked for, the locks, report delivery while idle. Nothing waits.
 */
@Timeout(10)
class DaemonLoopTest {
  private static final UpdaterConfig.Poll POLL = new UpdaterConfig.Poll(Duration.ofSeconds(60), Duration.ZERO,
      Duration.ofMinutes(15));

  /** A clock that only the sleeper moves. */
  static final class FakeClock extends Clock {
    Instant now = Instant.parse("2026-03-01T10:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  /** An agent whose polls answer from a script; the rest of the time it is up to date. */
  static final class ScriptedAgent implements Daemon.Agent {
    final FakeClock clock;
    final Deque<Function<Daemon, Result>> script = new ArrayDeque<>();
    final List<Instant> polls = new ArrayList<>();
    Daemon daemon;
    boolean daemonLockHeld;
    boolean lockReleased;
    int reportsPending;
    int deliveries;
    int memoryReleases;

    ScriptedAgent(FakeClock clock) {
      this.clock = clock;
    }

    ScriptedAgent then(Outcome outcome) {
      script.add(d -> new Result(outcome, outcome == Outcome.FAILED ? ErrorCode.DOWNLOAD_FAILED : null, "scripted",
          null, null));
      return this;
    }

    ScriptedAgent then(Function<Daemon, Result> step) {
      script.add(step);
      return this;
    }

    @Override
    public AutoCloseable lockDaemon() {
      if (daemonLockHeld) {
        throw new UpgradeException(ErrorCode.LOCKED, "another updater daemon is running");
      }
      return () -> lockReleased = true;
    }

    @Override
    public Result poll() {
      polls.add(clock.now);
      Function<Daemon, Result> step = script.poll();
      if (step == null) {
        daemon.stop(Duration.ZERO); // the script is done: SIGTERM
        return new Result(Outcome.UP_TO_DATE, null, "up to date", "1.0.0", null);
      }
      return step.apply(daemon);
    }

    @Override
    public boolean reportsPending() {
      return reportsPending > 0;
    }

    @Override
    public void deliverReports() {
      deliveries++;
      reportsPending--;
    }

    @Override
    public void releaseMemory() {
      memoryReleases++;
    }

    /** The waits between consecutive polls. */
    List<Duration> waits() {
      List<Duration> waits = new ArrayList<>();
      for (int i = 1; i < polls.size(); i++) {
        waits.add(Duration.between(polls.get(i - 1), polls.get(i)));
      }
      return waits;
    }
  }

  private final FakeClock clock = new FakeClock();
  private final List<Duration> sleeps = new ArrayList<>();
  private final List<AgentEvent.Note> notes = new ArrayList<>();
  private final Sleeper sleeper = d -> {
    sleeps.add(d);
    clock.now = clock.now.plus(d);
  };

  private Daemon daemon(ScriptedAgent agent, UpdaterConfig.Poll poll, boolean underLauncher, int freshJvmAfterPolls,
      boolean selfUpgrade, RandomGenerator random) {
    Daemon daemon = new Daemon(new Daemon.Options(poll, underLauncher, freshJvmAfterPolls, selfUpgrade), agent, clock,
        sleeper, random, e -> {
          if (e instanceof AgentEvent.Note n) {
            notes.add(n);
          }
        });
    agent.daemon = daemon;
    return daemon;
  }

  private Daemon daemon(ScriptedAgent agent) {
    return daemon(agent, POLL, false, 0, false, new SplittableRandom(1));
  }

  @Test
  void failuresBackOffExponentiallyUpToTheCapAndASuccessResetsTheInterval() {
    ScriptedAgent agent = new ScriptedAgent(clock);
    for (int i = 0; i < 6; i++) {
      agent.then(Outcome.FAILED);
    }
    agent.then(Outcome.REFUSED).then(Outcome.UP_TO_DATE).then(Outcome.FAILED);

    assertThat(daemon(agent).run()).isZero();

    // 60 s doubled per failure: 2, 4, 8 min, then the 15 min cap; a refusal counts as a failure too.
    assertThat(agent.waits()).containsExactly(Duration.ofMinutes(2), Duration.ofMinutes(4), Duration.ofMinutes(8),
        Duration.ofMinutes(15), Duration.ofMinutes(15), Duration.ofMinutes(15), Duration.ofMinutes(15),
        Duration.ofSeconds(60), Duration.ofMinutes(2));
    // Waits are slices of at most a second, so that a stop is noticed at once.
    assertThat(sleeps).allMatch(d -> d.compareTo(Daemon.WAIT_SLICE) <= 0);
  }

  @Test
  void waitingForTheRolloutIsNoFailureAndAsksAgainWhenTheServerSaid() {
    Result waiting = new Result(Outcome.WAITING, ErrorCode.WAVE_NOT_OPEN, "waiting for wave 3 of 5", "2.0.0",
        Duration.ofSeconds(5));
    ScriptedAgent agent = new ScriptedAgent(clock).then(Outcome.FAILED).then(d -> waiting).then(d -> waiting)
        .then(d -> new Result(Outcome.WAITING, ErrorCode.ROLLOUT_PAUSED, "paused", "2.0.0", null))
        .then(Outcome.FAILED);

    daemon(agent).run();

    // After the failure, the backoff's two minutes; a wait is asked again after the server's five
    // seconds (sooner than the interval), without the failure's backoff; a wait without a time
    // waits the interval; the next failure starts the backoff afresh.
    assertThat(agent.waits()).containsExactly(Duration.ofMinutes(2), Duration.ofSeconds(5), Duration.ofSeconds(5),
        Duration.ofSeconds(60), Duration.ofMinutes(2));
    assertThat(agent.memoryReleases).isEqualTo(2); // the failures; a wait allocates no more than a poll
  }

  @Test
  void aCallFromTheRepositoryEndsTheWaitAndThePollComesAtOnce() {
    ScriptedAgent agent = new ScriptedAgent(clock).then(Outcome.UP_TO_DATE).then(Outcome.UP_TO_DATE)
        .then(Outcome.UP_TO_DATE);
    List<Duration> slept = new ArrayList<>();
    Daemon[] holder = new Daemon[1];
    Sleeper callingAfterTenSeconds = d -> {
      slept.add(d);
      clock.now = clock.now.plus(d);
      if (slept.size() == 10) {
        holder[0].call("the canary wave of hello 2.0.0 is open", Duration.ZERO); // from the listener's thread
      } else if (slept.size() == 80) {
        holder[0].call("wave 2 of 3 of hello 2.0.0 is open", Duration.ofSeconds(5)); // a wave spread over 5 s
      }
    };
    Daemon daemon = new Daemon(new Daemon.Options(POLL, false, 0, false), agent, clock, callingAfterTenSeconds,
        new SplittableRandom(1), e -> {
          if (e instanceof AgentEvent.Note n) {
            notes.add(n);
          }
        });
    agent.daemon = daemon;
    holder[0] = daemon;
    List<String> locked = new ArrayList<>();
    daemon.whenLocked(() -> locked.add("listening"));

    daemon.run();

    // Ten seconds of the sixty, then the call; the next wait is the interval; ten seconds into the
    // one after, a call spread over five seconds: the poll comes within five seconds of it.
    assertThat(agent.waits()).hasSize(3);
    assertThat(agent.waits().get(0)).isEqualTo(Duration.ofSeconds(10));
    assertThat(agent.waits().get(1)).isEqualTo(Duration.ofSeconds(60));
    assertThat(agent.waits().get(2)).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(15));
    assertThat(notes).extracting(AgentEvent.Note::message)
        .contains("called: the canary wave of hello 2.0.0 is open; polling now")
        .anySatisfy(m -> assertThat(m).matches("called: wave 2 of 3 of hello 2.0.0 is open; polling in \\d+ ms"));
    assertThat(locked).containsExactly("listening");
  }

  @Test
  void aSecondDaemonThatFindsTheLockHeldStartsNoListener() {
    ScriptedAgent agent = new ScriptedAgent(clock);
    agent.daemonLockHeld = true;
    Daemon daemon = daemon(agent);
    List<String> locked = new ArrayList<>();
    daemon.whenLocked(() -> locked.add("listening"));

    assertThat(daemon.run()).isEqualTo(4);
    assertThat(locked).isEmpty();
  }

  @Test
  void retryAfterIsAMinimumNotAReplacement() {
    ScriptedAgent agent = new ScriptedAgent(clock)
        .then(d -> new Result(Outcome.FAILED, ErrorCode.DOWNLOAD_FAILED, "503", null, Duration.ofMinutes(30)))
        .then(d -> new Result(Outcome.FAILED, ErrorCode.DOWNLOAD_FAILED, "503", null, Duration.ofSeconds(5)));

    daemon(agent).run();

    // Thirty minutes although the backoff says two; then the backoff's four although the server said five seconds.
    assertThat(agent.waits()).startsWith(Duration.ofMinutes(30), Duration.ofMinutes(4));
  }

  @Test
  void jitterSpreadsEachWaitWithinPlusMinusTheJitter() {
    UpdaterConfig.Poll poll = new UpdaterConfig.Poll(Duration.ofSeconds(60), Duration.ofSeconds(10),
        Duration.ofMinutes(15));
    RandomGenerator lowest = new RandomGenerator() {
      @Override
      public long nextLong() {
        throw new AssertionError("bounded draws only");
      }

      @Override
      public long nextLong(long origin, long bound) {
        return origin;
      }
    };
    RandomGenerator highest = new RandomGenerator() {
      @Override
      public long nextLong() {
        throw new AssertionError("bounded draws only");
      }

      @Override
      public long nextLong(long origin, long bound) {
        return bound - 1;
      }
    };
    assertThat(Daemon.nextWait(poll, 0, null, lowest)).isEqualTo(Duration.ofSeconds(50));
    assertThat(Daemon.nextWait(poll, 0, null, highest)).isEqualTo(Duration.ofSeconds(70));
    assertThat(Daemon.nextWait(poll, 2, null, highest)).isEqualTo(Duration.ofSeconds(250)); // 4 min + 10 s
    assertThat(Daemon.nextWait(poll, 30, null, lowest)).isEqualTo(Duration.ofSeconds(890)); // the cap - 10 s

    SplittableRandom random = new SplittableRandom(42);
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (int i = 0; i < 10_000; i++) {
      long ms = Daemon.nextWait(poll, 0, null, random).toMillis();
      min = Math.min(min, ms);
      max = Math.max(max, ms);
    }
    assertThat(min).isBetween(50_000L, 51_000L);
    assertThat(max).isBetween(69_000L, 70_000L);

    // Never sooner than a second, whatever the configuration asks.
    UpdaterConfig.Poll tiny = new UpdaterConfig.Poll(Duration.ofMillis(10), Duration.ofMillis(500),
        Duration.ofMillis(20));
    assertThat(Daemon.nextWait(tiny, 0, null, lowest)).isEqualTo(Daemon.MIN_WAIT);

    ScriptedAgent agent = new ScriptedAgent(clock).then(Outcome.UP_TO_DATE).then(Outcome.UP_TO_DATE);
    daemon(agent, poll, false, 0, false, highest).run();
    assertThat(agent.waits()).containsOnly(Duration.ofSeconds(70));
  }

  @Test
  void underTheLauncherAFreshJvmIsAskedForAfterNPollsButNotWhileFailing() {
    ScriptedAgent agent = new ScriptedAgent(clock).then(Outcome.UP_TO_DATE).then(Outcome.UP_TO_DATE)
        .then(Outcome.FAILED).then(Outcome.UP_TO_DATE).then(Outcome.UP_TO_DATE);

    assertThat(daemon(agent, POLL, true, 3, false, new SplittableRandom(1)).run()).isEqualTo(ExitStatus.RESTART);

    // The third poll failed: not while backing off; the fourth succeeded, so the fresh JVM comes after it.
    assertThat(agent.polls).hasSize(4);
    assertThat(notes).last().extracting(AgentEvent.Note::message).asString()
        .startsWith("starting a fresh agent JVM after 4 polls");
    assertThat(agent.lockReleased).isTrue();

    // Without the launcher nobody would start it again: the daemon keeps polling.
    ScriptedAgent plain = new ScriptedAgent(clock).then(Outcome.UP_TO_DATE).then(Outcome.UP_TO_DATE)
        .then(Outcome.UP_TO_DATE).then(Outcome.UP_TO_DATE);
    assertThat(daemon(plain, POLL, false, 3, false, new SplittableRandom(1)).run()).isZero();
    assertThat(plain.polls).hasSize(5);
  }

  @Test
  void underTheLauncherAnUpdateThatChangedSomethingEndsTheJvm() {
    for (Outcome changed : List.of(Outcome.COMMITTED, Outcome.ROLLED_BACK, Outcome.STAGED)) {
      ScriptedAgent agent = new ScriptedAgent(clock).then(changed);
      assertThat(daemon(agent, POLL, true, 120, false, new SplittableRandom(1)).run()).as(changed.name())
          .isEqualTo(ExitStatus.RESTART);
      assertThat(agent.polls).hasSize(1);
    }
    assertThat(notes).last().extracting(AgentEvent.Note::message).asString()
        .startsWith("restarting the agent after the update");

    // Not when run directly, and not for a self-upgrade (which ends the JVM by itself, with REEXEC).
    ScriptedAgent plain = new ScriptedAgent(clock).then(Outcome.COMMITTED).then(Outcome.UP_TO_DATE);
    assertThat(daemon(plain).run()).isZero();
    assertThat(plain.polls).hasSize(3);
    assertThat(plain.memoryReleases).isEqualTo(1); // after the update, not after polls that found nothing
    ScriptedAgent self = new ScriptedAgent(clock).then(Outcome.COMMITTED);
    assertThat(daemon(self, POLL, true, 120, true, new SplittableRandom(1)).run()).isZero();
    ScriptedAgent reexec = new ScriptedAgent(clock).then(Outcome.REEXEC);
    assertThat(daemon(reexec, POLL, true, 120, true, new SplittableRandom(1)).run()).isEqualTo(ExitStatus.RESTART);
    assertThat(reexec.polls).hasSize(1);
  }

  @Test
  void theLocks() {
    ScriptedAgent second = new ScriptedAgent(clock);
    second.daemonLockHeld = true;
    assertThat(daemon(second).run()).isEqualTo(ExitStatus.LOCKED);
    assertThat(second.polls).isEmpty();
    assertThat(notes).last().satisfies(n -> {
      assertThat(n.level()).isEqualTo(AgentEvent.Level.ERROR);
      assertThat(n.message()).contains("LOCKED", "another updater daemon is running");
    });

    // Another updater at the first poll: exit at once. Later (an operator's run --once): just the next interval.
    ScriptedAgent lockedAtStart = new ScriptedAgent(clock).then(Outcome.LOCKED);
    assertThat(daemon(lockedAtStart).run()).isEqualTo(ExitStatus.LOCKED);
    ScriptedAgent lockedLater = new ScriptedAgent(clock).then(Outcome.UP_TO_DATE).then(Outcome.LOCKED)
        .then(Outcome.UP_TO_DATE);
    assertThat(daemon(lockedLater).run()).isZero();
    assertThat(lockedLater.waits()).containsOnly(Duration.ofSeconds(60));
  }

  @Test
  void queuedReportsAreDeliveredWhileIdleAndAFailedPollIsNotFatal() {
    ScriptedAgent agent = new ScriptedAgent(clock)
        .then(d -> {
          throw new UpgradeException(ErrorCode.IO_ERROR, "the disk went away");
        })
        .then(Outcome.UP_TO_DATE);
    agent.reportsPending = 3;

    assertThat(daemon(agent).run()).isZero();

    assertThat(agent.deliveries).isEqualTo(3);
    assertThat(agent.polls).hasSize(3);
    assertThat(agent.waits().get(0)).isEqualTo(Duration.ofMinutes(2)); // the exception counted as a failure
    assertThat(notes).anySatisfy(n -> assertThat(n.message()).contains("IO_ERROR", "the disk went away"));
  }

  @Test
  void aStopEndsTheWaitAndTheLoop() {
    ScriptedAgent agent = new ScriptedAgent(clock).then(Outcome.UP_TO_DATE);
    agent.reportsPending = Integer.MAX_VALUE;
    Daemon[] daemon = new Daemon[1];
    Sleeper stopping = d -> {
      sleeper.sleep(d);
      if (sleeps.size() == 5) {
        daemon[0].stop(Duration.ofSeconds(90)); // not busy: returns at once
      }
    };
    daemon[0] = new Daemon(new Daemon.Options(POLL, false, 0, false), agent, clock, stopping,
        new SplittableRandom(1), e -> { });
    agent.daemon = daemon[0];

    assertThat(daemon[0].run()).isZero();
    assertThat(agent.polls).as("no poll after the stop").hasSize(1);
    assertThat(sleeps).as("the 60 s wait ended at the stop").hasSize(5);
  }
}
