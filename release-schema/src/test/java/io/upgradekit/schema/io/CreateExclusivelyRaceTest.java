package io.upgradekit.schema.io;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several JVM processes, each with several threads, race {@link DurableFiles#createExclusively}
 * on one path per round, all contenders released together by a start barrier (a
 * {@link java.util.concurrent.CyclicBarrier} inside each process, arrival files across
 * processes). Each round must have exactly one winner across all processes, the file must hold
 * exactly the winner's content, and no temp file may remain. This is the property claims rely on
 * with several repo-server processes sharing one directory.
 */
class CreateExclusivelyRaceTest {
  private static final int PROCESSES = 4;
  private static final int THREADS = 4;
  private static final int ROUNDS = 200;
  /** Generous: the run takes a few seconds; the bound only stops a hung worker. */
  private static final long TIMEOUT_MILLIS = 30_000;

  @TempDir Path work;

  private final List<Process> workers = new ArrayList<>();

  @AfterEach
  void killWorkers() {
    for (Process worker : workers) {
      worker.descendants().forEach(ProcessHandle::destroyForcibly);
      worker.destroyForcibly();
    }
  }

  @Test
  void exactlyOneWinnerPerRoundAcrossProcesses() throws Exception {
    Path claims = Files.createDirectory(work.resolve("claims"));
    Files.createDirectory(work.resolve("sync"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    for (int id = 0; id < PROCESSES; id++) {
      ProcessBuilder builder =
          new ProcessBuilder(
                  java,
                  "-XX:TieredStopAtLevel=1", // these JVMs live for seconds: start fast
                  "-XX:+UseSerialGC",
                  "-Xmx64m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  CreateExclusivelyRaceWorker.class.getName(),
                  work.toString(),
                  String.valueOf(id),
                  String.valueOf(PROCESSES),
                  String.valueOf(THREADS),
                  String.valueOf(ROUNDS),
                  String.valueOf(TIMEOUT_MILLIS))
              .redirectOutput(work.resolve("out-" + id).toFile())
              .redirectError(work.resolve("err-" + id).toFile());
      workers.add(builder.start());
    }

    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS + 10_000);
    Map<Integer, List<String>> winnersByRound = new TreeMap<>();
    for (int id = 0; id < PROCESSES; id++) {
      Process worker = workers.get(id);
      boolean exited =
          worker.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      String err = Files.readString(work.resolve("err-" + id), UTF_8);
      assertThat(exited).as("worker %d finished in time; stderr:%n%s", id, err).isTrue();
      assertThat(worker.exitValue()).as("worker %d exit status; stderr:%n%s", id, err).isZero();
      List<String> lines = Files.readAllLines(work.resolve("out-" + id), UTF_8);
      assertThat(lines).as("worker %d output", id).endsWith("DONE");
      for (String line : lines.subList(0, lines.size() - 1)) {
        String[] parts = line.split(" ");
        assertThat(parts).as("line %s", line).hasSize(3).startsWith("WON");
        winnersByRound.computeIfAbsent(Integer.parseInt(parts[1]), r -> new ArrayList<>()).add(parts[2]);
      }
    }

    for (int round = 0; round < ROUNDS; round++) {
      List<String> winners = winnersByRound.getOrDefault(round, List.of());
      assertThat(winners).as("winners of round %d", round).hasSize(1);
      assertThat(claims.resolve("round-" + round + ".json"))
          .as("content of round %d", round)
          .hasContent(winners.get(0) + " round " + round);
    }
    assertThat(winnersByRound.keySet()).hasSize(ROUNDS);
    // Contention was real: wins spread over more than one process.
    assertThat(winnersByRound.values().stream().map(w -> w.get(0).split("/")[0]).distinct().count())
        .as("processes that won at least one round")
        .isGreaterThan(1);
    try (Stream<Path> files = Files.list(claims)) {
      List<String> names = files.map(p -> p.getFileName().toString()).toList();
      assertThat(names).hasSize(ROUNDS).allMatch(n -> n.matches("round-[0-9]+\\.json"));
    }
  }
}
