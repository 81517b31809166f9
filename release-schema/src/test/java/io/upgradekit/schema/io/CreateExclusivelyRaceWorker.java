package io.upgradekit.schema.io;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.upgradekit.schema.RaceWorker;
import java.nio.file.Path;

/**
 * One contending process of {@link CreateExclusivelyRaceTest}: its threads call {@link
 * DurableFiles#createExclusively} on the same path as every thread of every other worker process,
 * round after round, all starting each round together ({@link RaceWorker}).
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
    Path claims = work.resolve("claims");
    RaceWorker.run(work.resolve("sync"), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
        Integer.parseInt(args[3]), Integer.parseInt(args[4]), Long.parseLong(args[5]),
        contender -> (round, together) -> {
          together.await();
          Path target = claims.resolve("round-" + round + ".json");
          return DurableFiles.createExclusively(target, (contender + " round " + round).getBytes(UTF_8));
        });
  }
}
