package io.upgradekit.updater.engine;

import java.time.Duration;

/** Waits; injected with a clock so that loops that wait (the daemon, the watch window) are tested without waiting. */
@FunctionalInterface
public interface Sleeper {
  /** The real one: {@link Thread#sleep}. */
  Sleeper SYSTEM = d -> Thread.sleep(Math.max(0, d.toMillis()));

  /** Waits {@code duration}. */
  void sleep(Duration duration) throws InterruptedException;
}
