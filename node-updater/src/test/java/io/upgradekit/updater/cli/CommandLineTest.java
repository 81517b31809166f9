package io.upgradekit.updater.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.engine.TargetLock;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.testsupport.FakeApplier;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Command;
import picocli.CommandLine;

@Timeout(120)
class CommandLineTest {
  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stopEverything() {
    if (target != null) {
      target.close();
    }
  }

  @Command(name = "updater")
  static final class Root {}

  private static CommandLine root(PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new Root());
    cl.addSubcommand("run", new RunCommand(new FakeApplier(), e -> { }, err))
        .addSubcommand("status", new StatusCommand(out, err))
        .addSubcommand("history", new HistoryCommand(out, err))
        .addSubcommand("rollback", new RollbackCommand(err, e -> { }));
    cl.setOut(new java.io.PrintWriter(out, true));
    cl.setErr(new java.io.PrintWriter(err, true));
    return cl;
  }

  private record Run(int code, String out, String err) {}

  private static Run execute(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = root(o, e).execute(args);
    }
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpOfEveryCommandListsItsOptionsAndExitCodes() {
    Run run = execute("run", "--help");
    assertThat(run.code()).isZero();
    assertThat(run.out()).contains("--once", "--[no-]stage-only", "--config", "Exit codes", "another updater holds the lock",
        "the new version failed after the switch", "75", "self-upgrade");
    assertThat(run.out().lines()).allMatch(line -> line.length() <= 80);
    assertThat(execute("status", "--help").out()).contains("--json", "Reads only");
    assertThat(execute("history", "--help").out()).contains("--json", "--last");
    assertThat(execute("rollback", "--help").out()).contains("previous version", "Exit codes");
  }

  @Test
  void configurationErrorsExitWith2AndNameTheKey() throws IOException {
    Path config = tmp.resolve("bad.yaml");
    Files.writeString(config, "repository:\n  url: ftp://x\n");
    Run run = execute("run", "--once", "--config", config.toString());
    assertThat(run.code()).isEqualTo(2);
    assertThat(run.err()).contains("CONFIG_INVALID", "repository.url", "https://");
    assertThat(execute("status", "--config", tmp.resolve("missing.yaml").toString()).code()).isEqualTo(2);
  }

  @Test
  void anUnreadablePinnedTrustRootEndsRunOnceWithStatus2() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    target.repo.point("stable", target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", "healthy=true\n")));
    Path missing = tmp.resolve("no-such-root.json");
    Files.writeString(target.configFile, Files.readString(target.configFile)
        .replace("trustRoot: " + target.repo.pinnedRoot(), "trustRoot: " + missing));

    // The configuration loads (the file is only read when the run resolves), and still it is the
    // configuration that must be fixed: status 2 (DESIGN section 8), not 1.
    Run run = execute("run", "--once", "--config", target.configFile.toString());
    assertThat(run.code()).as(run.err()).isEqualTo(2);
    assertThat(run.err()).contains("CONFIG_INVALID", "repository.trustRoot");
    assertThat(target.runUpdater(null, "run", "--once")).as(target.updaterLog()).isEqualTo(2);

    Files.createDirectories(missing); // unreadable as a file
    assertThat(execute("run", "--once", "--config", target.configFile.toString()).code()).isEqualTo(2);
    assertThat(target.homeDirs().currentVersion()).isEmpty();
  }

  @Test
  void statusAndHistoryShowTheTarget() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", "healthy=true\n"));
    target.repo.point("stable", v1);
    Run run = execute("run", "--once", "--config", target.configFile.toString());
    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.err()).contains("-> SWITCH", "committed");

    Run status = execute("status", "--json", "--config", target.configFile.toString());
    assertThat(status.out()).contains("\"current\":\"1.0.0\"", "\"serviceRunning\":true", "\"versionsOnDisk\":[\"1.0.0\"]",
        "\"outcome\":\"COMMITTED\"");
    assertThat(execute("status", "--config", target.configFile.toString()).out()).contains("current:          1.0.0",
        "service:          running");
    // What the node trusts, and when each expires: the test pointer's day left is within the week flagged.
    assertThat(status.out()).contains("\"trusted\":[{\"document\":\"root\"", "\"document\":\"channel\"",
        "\"document\":\"release\"", "\"expired\":false");
    assertThat(execute("status", "--config", target.configFile.toString()).out()).contains(
        "trusts:           trust root version 1, expires ",
        "trusts:           channel pointer demo/stable (1.0.0, sequence ",
        ": soon; the publisher must re-sign it (mvn upgrade:resign -Dupgrade.app=demo -Dupgrade.channel=stable) or"
            + " publish a release to the channel",
        "trusts:           release manifest demo 1.0.0, expires ")
        .doesNotContain("EXPIRED");

    Run history = execute("history", "--config", target.configFile.toString());
    assertThat(history.out()).contains("COMMITTED", "DOWNLOAD", "SWITCH", "VERIFY");
    assertThat(execute("history", "--json", "--config", target.configFile.toString()).out())
        .startsWith("[{").contains("\"steps\":[");

    Run rollback = execute("rollback", "--config", target.configFile.toString());
    assertThat(rollback.code()).isEqualTo(1);
    assertThat(rollback.err()).contains("NO_PREVIOUS_VERSION");
  }

  @Test
  void stageOnlyFromTheConfigurationIsOverriddenByNoStageOnly() throws Exception {
    target = new TestTarget(tmp, "restart", "stageOnly: true\n");
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", "healthy=true\n"));
    target.repo.point("stable", v1);
    String config = target.configFile.toString();

    Run staged = execute("run", "--once", "--config", config);
    assertThat(staged.code()).as(staged.err()).isZero();
    assertThat(staged.err()).contains("staged");
    assertThat(target.homeDirs().currentVersion()).isEmpty();

    Run switched = execute("run", "--once", "--no-stage-only", "--config", config);
    assertThat(switched.code()).as(switched.err()).isZero();
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
  }

  @Test
  void aSecondUpdaterExitsWith4AtOnceAndWritesNothing() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", "healthy=true\n"));
    target.repo.point("stable", v1);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", "healthy=true\n"), "1.0.0");
    target.repo.point("stable", v2);
    Map<String, FileTime> before = snapshot(target.home);

    try (TargetLock held = TargetLock.acquire(target.homeDirs())) {
      int code = target.runUpdater(null, "run", "--once");
      assertThat(code).as(target.updaterLog()).isEqualTo(4);
      assertThat(target.updaterLog()).contains("LOCKED");
    }

    assertThat(snapshot(target.home)).isEqualTo(before);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.runUpdater(null, "run", "--once")).isZero();
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
  }

  @Test
  void theDaemonUpdatesWhenTheChannelMovesAndStopsCleanlyOnSigterm() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", "healthy=true\n"));
    target.repo.point("stable", v1);
    Process daemon = target.startUpdater(null, "run");
    awaitServed("1.0.0");
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", "healthy=true\n"), "1.0.0");
    target.repo.point("stable", v2);
    awaitServed("2.0.0");

    daemon.destroy(); // SIGTERM
    assertThat(daemon.waitFor(100, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(daemon.exitValue()).as(target.updaterLog()).isEqualTo(143); // systemd: SuccessExitStatus=143
    assertThat(target.homeDirs().journal()).doesNotExist();
    assertThat(target.servedVersion()).as("the service outlives the updater").isEqualTo("2.0.0");
  }

  private void awaitServed(String version) throws InterruptedException {
    for (int i = 0; i < 600 && !version.equals(target.servedVersion()); i++) {
      Thread.sleep(100);
    }
    assertThat(target.servedVersion()).as(target.updaterLog()).isEqualTo(version);
  }

  private static Map<String, FileTime> snapshot(Path dir) throws IOException {
    Map<String, FileTime> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        files.put(dir.relativize(p).toString(), Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS));
      }
    }
    return files;
  }
}
