package io.upgradekit.schema;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Starts a round of a race in several processes together: each process marks its arrival with a
 * file, then waits for everyone's mark (bounded by a deadline). Used inside a {@link
 * java.util.concurrent.CyclicBarrier}'s action, so that the threads of every process are released
 * at once.
 */
public final class ProcessBarrier {
  private ProcessBarrier() {}

  /**
   * @param sync a directory all processes share
   * @param deadline {@link System#nanoTime()} after which waiting fails
   * @throws IllegalStateException when another process does not arrive in time
   */
  public static void await(Path sync, int round, int id, int processes, long deadline) throws IOException {
    Files.createFile(sync.resolve("round-" + round + "-worker-" + id));
    for (int other = 0; other < processes; other++) {
      Path mark = sync.resolve("round-" + round + "-worker-" + other);
      while (!Files.exists(mark)) {
        if (deadline - System.nanoTime() <= 0) {
          throw new IllegalStateException("timed out waiting for " + mark);
        }
        LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
      }
    }
  }

  /** Ends a worker process that cannot go on, so that it never passes for one that lost. */
  public static void fail(String who, Throwable e) {
    System.err.println(who + " failed:");
    e.printStackTrace();
    System.err.flush();
    Runtime.getRuntime().halt(1);
  }
}
