package io.upgradekit.schema.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.upgradekit.schema.ProcessBarrier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One contending process of {@link RepositoryStoreContract}'s races: its threads, each with its
 * own store opened from the address, race the threads of every other worker process on one path
 * per round (create-if-absent), or on one document (compare-and-swap: all read it, then all swap
 * on the tag they read), all starting each step together.
 *
 * <p>Arguments: opener class, store address, mode ({@code create} or {@code swap}), sync
 * directory, worker id, number of worker processes, threads, rounds, timeout in milliseconds.
 * Prints {@code WON <round> <contender>} for each round one of its threads won, then {@code
 * DONE}; exits with 1 (stack trace on stderr) on any failure or timeout, including an {@code
 * UNKNOWN} outcome, which no race between healthy processes should give.
 */
public final class StoreRaceWorker {
  static final String SWAPPED = "race/swapped.json";

  private StoreRaceWorker() {}

  static String created(int round) {
    return "race/created-" + round + ".json";
  }

  static String content(String contender, int round) {
    return contender + " round " + round;
  }

  public static void main(String[] args) throws Exception {
    StoreOpener opener = (StoreOpener) Class.forName(args[0]).getConstructor().newInstance();
    String address = args[1];
    boolean swap = args[2].equals("swap");
    Path sync = Path.of(args[3]);
    int id = Integer.parseInt(args[4]);
    int processes = Integer.parseInt(args[5]);
    int threads = Integer.parseInt(args[6]);
    int rounds = Integer.parseInt(args[7]);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args[8]));

    Queue<String> wins = new ConcurrentLinkedQueue<>();
    AtomicInteger step = new AtomicInteger();
    CyclicBarrier together = new CyclicBarrier(threads, () -> {
      try {
        ProcessBarrier.await(sync, step.getAndIncrement(), id, processes, deadline);
      } catch (IOException | RuntimeException e) {
        ProcessBarrier.fail("barrier", e);
      }
    });
    Thread[] contenders = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      String contender = "worker-" + id + "/thread-" + t;
      contenders[t] = new Thread(() -> {
        try (RepositoryStore store = opener.open(address)) {
          for (int round = 0; round < rounds; round++) {
            byte[] content = content(contender, round).getBytes(UTF_8);
            RepositoryStore.Write write;
            together.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (swap) {
              Optional<RepositoryStore.Versioned> read = store.read(SWAPPED, 1024);
              String tag = read.orElseThrow().tag();
              together.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS); // everyone has read
              write = store.compareAndSwap(SWAPPED, tag, round + 1, content);
            } else {
              write = store.create(created(round), content);
            }
            if (write.status() == RepositoryStore.Status.UNKNOWN) {
              throw new IllegalStateException("round " + round + " ended UNKNOWN");
            }
            if (write.written()) {
              wins.add("WON " + round + " " + contender);
            }
          }
        } catch (Throwable e) {
          ProcessBarrier.fail(contender, e);
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
}
