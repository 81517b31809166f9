package io.upgradekit.schema;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The body of one contending process in a race among several processes, each with several
 * threads: every step of every round starts in all threads of all processes together (a {@link
 * CyclicBarrier} inside each process whose action waits for the other processes' arrival files).
 * Prints {@code WON <round> <contender>} for each round one of its threads won, then {@code DONE};
 * halts with status 1 (stack trace on stderr) on any failure or timeout, so that a broken worker
 * can never pass for one that lost every round.
 */
public final class RaceWorker {
  private RaceWorker() {}

  /** Starts the next step of a round once every contender everywhere has reached it. */
  @FunctionalInterface
  public interface Together {
    void await() throws Exception;
  }

  /** One contending thread. */
  public interface Contender extends AutoCloseable {
    /**
     * Plays one round: calls {@code together} once before it starts, and again before each
     * further step that all contenders must reach first.
     *
     * @return true if this contender won the round
     */
    boolean play(int round, Together together) throws Exception;

    @Override
    default void close() throws Exception {}
  }

  /** Makes the contender of one thread, named for the output. */
  @FunctionalInterface
  public interface Contenders {
    Contender open(String name) throws Exception;
  }

  /**
   * @param sync a directory every process of the race shares
   * @param id this process's number, from 0
   * @param timeoutMillis how long the whole race may take
   */
  public static void run(Path sync, int id, int processes, int threads, int rounds, long timeoutMillis,
      Contenders contenders) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    Queue<String> wins = new ConcurrentLinkedQueue<>();
    AtomicInteger step = new AtomicInteger();
    // The last thread of this process to arrive joins the cross-process barrier for the step;
    // only when every process has arrived are all threads everywhere released together.
    CyclicBarrier barrier = new CyclicBarrier(threads, () -> {
      try {
        awaitProcesses(sync, step.getAndIncrement(), id, processes, deadline);
      } catch (IOException | RuntimeException e) {
        fail("barrier", e);
      }
    });
    Together together = () -> barrier.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
    Thread[] running = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      String name = "worker-" + id + "/thread-" + t;
      running[t] = new Thread(() -> {
        try (Contender contender = contenders.open(name)) {
          for (int round = 0; round < rounds; round++) {
            if (contender.play(round, together)) {
              wins.add("WON " + round + " " + name);
            }
          }
        } catch (Throwable e) {
          fail(name, e);
        }
      }, name);
      running[t].start();
    }
    for (Thread thread : running) {
      thread.join();
    }
    StringBuilder out = new StringBuilder();
    wins.forEach(w -> out.append(w).append('\n'));
    out.append("DONE\n");
    System.out.print(out);
    System.out.flush();
  }

  /** A file-based barrier: each process marks its arrival, then waits for everyone's mark. */
  private static void awaitProcesses(Path sync, int step, int id, int processes, long deadline) throws IOException {
    Files.createFile(sync.resolve("round-" + step + "-worker-" + id));
    for (int other = 0; other < processes; other++) {
      Path mark = sync.resolve("round-" + step + "-worker-" + other);
      while (!Files.exists(mark)) {
        if (deadline - System.nanoTime() <= 0) {
          throw new IllegalStateException("timed out waiting for " + mark);
        }
        LockSupport.parkNanos(50_000);
      }
    }
  }

  private static void fail(String who, Throwable e) {
    System.err.println(who + " failed:");
    e.printStackTrace();
    System.err.flush();
    Runtime.getRuntime().halt(1);
  }
}
