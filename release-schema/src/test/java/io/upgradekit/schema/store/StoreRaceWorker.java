package io.upgradekit.schema.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.upgradekit.schema.RaceWorker;
import java.nio.file.Path;

/**
 * One contending process of {@link RepositoryStoreContract}'s races ({@link RaceWorker}): its
 * threads, each with its own store opened from the address, race the threads of every other
 * worker process on one path per round (create-if-absent), or on one document (compare-and-swap:
 * all read it, then all swap on the tag they read).
 *
 * <p>Arguments: opener class, store address, mode ({@code create} or {@code swap}), sync
 * directory, worker id, number of worker processes, threads, rounds, timeout in milliseconds. An
 * {@code UNKNOWN} outcome fails the worker: no race between healthy processes should give one.
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
    RaceWorker.run(Path.of(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]), Integer.parseInt(args[6]),
        Integer.parseInt(args[7]), Long.parseLong(args[8]), name -> {
          RepositoryStore store = opener.open(address);
          return new RaceWorker.Contender() {
            @Override
            public boolean play(int round, RaceWorker.Together together) throws Exception {
              byte[] content = content(name, round).getBytes(UTF_8);
              RepositoryStore.Write write;
              together.await();
              if (swap) {
                String tag = store.read(SWAPPED, 1024).orElseThrow().tag();
                together.await(); // everyone has read
                write = store.compareAndSwap(SWAPPED, tag, round + 1, content);
              } else {
                write = store.create(created(round), content);
              }
              if (write.status() == RepositoryStore.Status.UNKNOWN) {
                throw new IllegalStateException("round " + round + " ended UNKNOWN");
              }
              return write.written();
            }

            @Override
            public void close() throws Exception {
              store.close();
            }
          };
        });
  }
}
