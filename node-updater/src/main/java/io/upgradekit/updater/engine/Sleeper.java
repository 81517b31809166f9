package io.upgradekit.updater.engine;

import java.time.Duration;

/** Waits; injected with a clock so that loops that wait (the daemon, the watch window) are tested without waiting. */
@FunctionalInterface
public interface Sleeper {
  /** The real one: {@link Thread#sleep}. */
  Sleeper SYSTEM = d -> Thread.sleep(Math.max(0, d.toMillis()));

  /** Waits {@code duration}. */
  void sleep(Duration duration) throws InterruptedException;

  /** Ends a sleep under way early, where this sleeper can (the system one cannot). */
  default void wake() {}

  /** A real sleeper whose sleeps {@link #wake} ends early (one per daemon: a wake ends only its sleeps). */
  static Sleeper wakeable() {
    Object monitor = new Object();
    return new Sleeper() {
      @Override
      public void sleep(Duration duration) throws InterruptedException {
        long millis = Math.max(0, duration.toMillis());
        if (millis > 0) {
          synchronized (monitor) {
            monitor.wait(millis);
          }
        }
      }

      @Override
      public void wake() {
        synchronized (monitor) {
          monitor.notifyAll();
        }
      }
    };
  }
}
