package io.upgradekit.updater.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon ({@code run}) as its own JVM: started by bin/updater, it asks for a fresh JVM (status
 * 75) after an update and after a number of polls; started directly, it keeps running.
 */
@Timeout(120)
class DaemonTest {
  private static final String HEALTHY = "healthy=true\n";
  private static final Map<String, String> UNDER_LAUNCHER = Map.of(RunCommand.LAUNCHER_VARIABLE, "bin/updater");

  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stop() {
    if (target != null) {
      target.close();
    }
  }

  @Test
  void underBinUpdaterTheDaemonExits75AfterAnUpdateButNotAfterAPoll() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    TestRepo.Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);

    Process installing = target.startUpdaterWith(UNDER_LAUNCHER, null, "run");
    assertThat(installing.waitFor(60, TimeUnit.SECONDS)).as(target.updaterLog()).isTrue();
    assertThat(installing.exitValue()).isEqualTo(75);
    assertThat(target.updaterLog()).contains("committed: now running 1.0.0").contains("restarting the agent after the "
        + "update");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");

    // The fresh JVM polls and finds nothing; after UPGRADEKIT_FRESH_JVM_POLLS polls it asks for a fresh JVM too.
    Process polling = target.startUpdaterWith(Map.of(RunCommand.LAUNCHER_VARIABLE, "bin/updater",
        RunCommand.FRESH_JVM_VARIABLE, "3"), null, "run");
    assertThat(polling.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(polling.exitValue()).isEqualTo(75);
    assertThat(target.updaterLog()).contains("starting a fresh agent JVM after 3 polls");
    assertThat(target.updaterLog().split("up to date at 1.0.0", -1)).hasSize(4); // three polls

    // Without bin/updater (java -jar ... run) the daemon keeps running after an update.
    target.repo.point("stable", target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0"));
    Process plain = target.startUpdater(null, "run");
    long end = System.currentTimeMillis() + 60_000;
    while (!"2.0.0".equals(target.servedVersion()) && System.currentTimeMillis() < end) {
      Thread.sleep(50);
    }
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(plain.waitFor(3, TimeUnit.SECONDS)).isFalse();
    plain.destroy();
    assertThat(plain.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aSecondDaemonExitsAtOnceWithStatus4WhileTheFirstKeepsRunning() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    target.repo.point("stable", target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY)));
    Process first = target.startUpdater(null, "run");
    awaitServed("1.0.0");

    // The first daemon idles between polls (it holds no update lock then): the second still exits.
    Process second = target.startUpdater(null, "run");
    assertThat(second.waitFor(60, TimeUnit.SECONDS)).as("the second daemon exits by itself; " + target.updaterLog())
        .isTrue();
    assertThat(second.exitValue()).isEqualTo(4);
    assertThat(target.updaterLog()).contains("another updater daemon is running");
    assertThat(first.isAlive()).isTrue();

    // An operator's single poll beside the idle daemon is allowed: the update lock serialises them.
    // The daemon polls every second and holds that lock while it does, so a single poll that meets
    // one exits 4 with "another updater is working" (never "daemon"), and goes through when asked again.
    int once = target.runUpdater(null, "run", "--once");
    for (int attempt = 1; once == 4 && attempt < 20; attempt++) {
      assertThat(target.updaterLog()).contains("locked [LOCKED]: another updater is working")
          .as("only the second daemon met the daemon lock").containsOnlyOnce("another updater daemon is running");
      once = target.runUpdater(null, "run", "--once");
    }
    assertThat(once).as(target.updaterLog()).isZero();
    assertThat(first.isAlive()).isTrue();
    first.destroy();
    assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aDaemonStartedWhileAnotherProcessHoldsTheUpdateLockExitsWithStatus4() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    target.repo.point("stable", target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY)));
    java.nio.file.Files.createDirectories(target.homeDirs().state());
    // This test JVM is the other updater: it holds state/lock as an update in progress would.
    try (FileChannel channel = FileChannel.open(target.homeDirs().lockFile(), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE); FileLock held = channel.lock()) {
      Process daemon = target.startUpdater(null, "run");
      assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).as("exits at once; " + target.updaterLog()).isTrue();
      assertThat(daemon.exitValue()).isEqualTo(4);
      assertThat(target.runUpdater(null, "run", "--once")).isEqualTo(4);
      assertThat(target.updaterLog()).contains("another updater is working");
    }
    assertThat(target.homeDirs().currentVersion()).as("nothing was installed while locked").isEmpty();
  }

  @Test
  void aRunningDaemonThatMeetsAnOperatorsLockWaitsForItsNextPoll() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    target.repo.point("stable", target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY)));
    Process daemon = target.startUpdater(null, "run");
    awaitServed("1.0.0");
    try (FileChannel channel = FileChannel.open(target.homeDirs().lockFile(), StandardOpenOption.WRITE)) {
      FileLock held = null;
      long end = System.currentTimeMillis() + 30_000;
      while (held == null && System.currentTimeMillis() < end) {
        held = channel.tryLock(); // null while the daemon is inside a poll
        if (held == null) {
          Thread.sleep(20);
        }
      }
      assertThat(held).isNotNull();
      int before = count(target.updaterLog(), "[LOCKED]");
      while (count(target.updaterLog(), "[LOCKED]") == before && System.currentTimeMillis() < end + 30_000) {
        Thread.sleep(50); // a poll of the daemon met the lock
      }
      assertThat(count(target.updaterLog(), "[LOCKED]")).isGreaterThan(before);
      assertThat(daemon.isAlive()).as("an established daemon keeps running").isTrue();
      held.release();
    }
    target.repo.point("stable", target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0"));
    awaitServed("2.0.0");
    daemon.destroy();
    assertThat(daemon.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  private void awaitServed(String version) throws InterruptedException {
    long end = System.currentTimeMillis() + 60_000;
    while (!version.equals(target.servedVersion()) && System.currentTimeMillis() < end) {
      Thread.sleep(50);
    }
    assertThat(target.servedVersion()).as(target.updaterLog()).isEqualTo(version);
  }

  private static int count(String text, String what) {
    return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
  }
}
