package io.upgradekit.updater.bench;

import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.engine.Home;
import io.upgradekit.updater.journal.Journal;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import io.upgradekit.updater.testsupport.TestUpdaterMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code bench/updater.sh}'s driver: for each strategy, a daemon updater ({@code run}, JVM flags
 * of bin/updater) on a loopback repository and the tiny test service; measures the time from
 * "release visible" (channel pointer published) to "new version healthy" (the service answers with
 * it), split by state from the journal, and the updater's idle RSS. Prints a Markdown table.
 *
 * <p>Usage: {@code UpdaterBench WORKDIR ROUNDS}
 */
public final class UpdaterBench {
  /** The flags of bin/updater, or $UPDATER_JAVA_OPTS as there. */
  private static final List<String> UPDATER_FLAGS = List.of(System.getenv().getOrDefault("UPDATER_JAVA_OPTS",
      "-Xmx64m -Xms8m -Xss256k -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 "
          + "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:ReservedCodeCacheSize=8m -XX:MaxMetaspaceSize=64m "
          + "-XX:-UsePerfData -Xshare:auto").trim().split("\\s+"));

  public static void main(String[] args) throws Exception {
    Path work = Path.of(args[0]);
    int rounds = Integer.parseInt(args[1]);
    StringBuilder freshIdle = new StringBuilder();
    System.out.println("| strategy | round | visible -> healthy (ms) | poll wait | RESOLVE | DOWNLOAD | STAGE | STOP "
        + "| SWITCH | START | VERIFY | COMMIT | idle RSS (MB) | failed / sent requests |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (String strategy : System.getenv().getOrDefault("BENCH_STRATEGIES", "restart overlap").split(" ")) {
      Path dir = work.resolve(strategy);
      Files.createDirectories(dir);
      try (TestTarget target = new TestTarget(dir, strategy, "")) {
        Files.writeString(target.configFile, Files.readString(target.configFile)
            .replace("attempts: 150\n  interval: 100ms", "attempts: 300\n  interval: 20ms"));
        String props = "healthy=true\n";
        TestRepo.Release previous = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", props));
        target.repo.point("stable", previous);
        // Install 1.0.0 with a one-shot run, so that the daemon's first RSS is that of an agent
        // that has only polled.
        Process once = startUpdater(target, "run", "--once");
        if (!once.waitFor(120, java.util.concurrent.TimeUnit.SECONDS) || once.exitValue() != 0) {
          throw new IllegalStateException("installing 1.0.0 failed; see " + target.dir);
        }
        Process daemon = startUpdater(target, "run");
        waitForVersion(target, "1.0.0", 60_000);
        Thread.sleep(3000);
        freshIdle.append(String.format(Locale.ROOT, "%s: %.1f MB; ", strategy, rssKb(daemon.pid()) / 1024.0));
        for (int round = 1; round <= rounds; round++) {
          String version = (round + 1) + ".0.0";
          TestRepo.Release next = target.repo.publish(version, round + 1, TestTarget.files(version, props),
              previous.version());
          Thread.sleep(1500); // idle: the daemon has polled and found nothing
          long rss = rssKb(daemon.pid());
          Load load = new Load(target);
          load.start();
          long visible = System.nanoTime();
          target.repo.point("stable", next);
          waitForVersion(target, version, 120_000);
          long healthyMs = (System.nanoTime() - visible) / 1_000_000;
          Thread.sleep(300);
          lastCommitted(target, version);
          Thread.sleep(500); // the old process has drained
          load.stopAndJoin();
          JournalRecord event = lastCommitted(target, version);
          long firstStep = event.steps().get(0).startedAt().toEpochMilli();
          long publishedAt = System.currentTimeMillis() - (System.nanoTime() - visible) / 1_000_000;
          StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %d | %d | %d |", strategy, round,
              healthyMs, Math.max(0, firstStep - publishedAt)));
          for (String state : List.of("RESOLVE", "DOWNLOAD", "STAGE", "STOP", "SWITCH", "START", "VERIFY", "COMMIT")) {
            long ms = event.steps().stream().filter(s -> s.state().equals(state))
                .mapToLong(StepReport::durationMillis).sum();
            row.append(' ').append(ms).append(" |");
          }
          row.append(String.format(Locale.ROOT, " %.1f | %d / %d |", rss / 1024.0, load.failed, load.sent));
          System.out.println(row);
          previous = next;
        }
        daemon.destroy();
        daemon.waitFor();
      }
    }
    System.out.println();
    System.out.println("Idle RSS of a daemon that has only polled (no update in this process): " + freshIdle);
  }

  /** A client sending GET / back to back on fresh connections, counting failures. */
  private static final class Load extends Thread {
    private final TestTarget target;
    private volatile boolean stop;
    int sent;
    int failed;

    Load(TestTarget target) {
      super("load");
      this.target = target;
    }

    @Override
    public void run() {
      while (!stop) {
        sent++;
        if (target.servedVersion() == null) {
          failed++;
        }
        try {
          Thread.sleep(2);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    void stopAndJoin() throws InterruptedException {
      stop = true;
      join();
    }
  }

  private static Process startUpdater(TestTarget target, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(UPDATER_FLAGS);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), TestUpdaterMain.class.getName()));
    command.addAll(List.of(args));
    command.addAll(List.of("--config", target.configFile.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(target.dir.resolve("daemon.log").toFile()));
    builder.environment().put("MALLOC_ARENA_MAX", "2"); // as bin/updater sets it
    return builder.start();
  }

  private static void waitForVersion(TestTarget target, String version, long timeoutMs) throws Exception {
    long end = System.currentTimeMillis() + timeoutMs;
    while (!version.equals(target.servedVersion())) {
      if (System.currentTimeMillis() > end) {
        throw new IllegalStateException("version " + version + " not served in time; see " + target.dir);
      }
      Thread.sleep(5);
    }
  }

  private static JournalRecord lastCommitted(TestTarget target, String version) throws Exception {
    Home home = target.homeDirs();
    for (int i = 0; i < 200; i++) {
      List<JournalRecord> history = new Journal(home.journal(), home.history()).history();
      for (int j = history.size() - 1; j >= 0; j--) {
        if (version.equals(history.get(j).toVersion()) && "COMMITTED".equals(history.get(j).outcome())) {
          return history.get(j);
        }
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("no committed event for " + version);
  }

  private static long rssKb(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  private UpdaterBench() {}
}
