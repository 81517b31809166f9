package io.upgradekit.schema.io;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.upgradekit.schema.ProcessBarrier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One contending process of {@link CreateExclusivelyRaceTest}: its threads call {@link
 * DurableFiles#createExclusively} on the same path as every thread of every other worker process,
 * round after round, all starting each round together.
 *
 * <p>Arguments: work directory, worker id, number of worker processes, threads, rounds, timeout in
 * milliseconds. Prints {@code WON <round> <contender>} for each round one of its threads won,
 * then {@code DONE}; exits with 1 (stack trace on stderr) on any failure or timeout, so that a
 * broken worker can never pass for one that lost every round.
 */
public final class CreateExclusivelyRaceWorker {
  private CreateExclusivelyRaceWorker() {}

  public static void main(String[] args) throws Exception {
    Path work = Path.of(args[0]);
    int id = Integer.parseInt(args[1]);
    int processes = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    int rounds = Integer.parseInt(args[4]);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args[5]));
    Path claims = work.resolve("claims");
    Path sync = work.resolve("sync");

    Queue<String> wins = new ConcurrentLinkedQueue<>();
    AtomicInteger barrierRound = new AtomicInteger();
    // The last thread of this process to arrive joins the cross-process barrier for the round;
    // only when every process has arrived are all threads everywhere released together.
    Runnable acrossProcesses =
        () -> awaitAllProcesses(sync, barrierRound.getAndIncrement(), id, processes, deadline);
    CyclicBarrier start = new CyclicBarrier(threads, acrossProcesses);

    Thread[] contenders = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      String contender = "worker-" + id + "/thread-" + t;
      contenders[t] = new Thread(() -> {
        try {
          for (int round = 0; round < rounds; round++) {
            start.await(remainingNanos(deadline), TimeUnit.NANOSECONDS);
            Path target = claims.resolve("round-" + round + ".json");
            byte[] content = (contender + " round " + round).getBytes(UTF_8);
            if (DurableFiles.createExclusively(target, content)) {
              wins.add("WON " + round + " " + contender);
            }
          }
        } catch (Throwable e) {
          fail(contender, e);
        }
      }, contender);
      contenders[t].start();
    }
    for (Thread contender : contenders) {
      contender.join();
    }
    StringBuilder out = new StringBuilder();
    wins.forEach(w -> out.append(w).append('\n'));
    out.append("DONE\n");
    System.out.print(out);
    System.out.flush();
  }

  private static void awaitAllProcesses(Path sync, int round, int id, int processes, long deadline) {
    try {
      ProcessBarrier.await(sync, round, id, processes, deadline);
    } catch (IOException | RuntimeException e) {
      fail("barrier", e);
    }
  }

  private static long remainingNanos(long deadline) {
    return deadline - System.nanoTime();
  }

  private static void fail(String who, Throwable e) {
    ProcessBarrier.fail(who, e);
  }
}
