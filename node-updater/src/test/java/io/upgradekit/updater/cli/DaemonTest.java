package io.upgradekit.updater.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import java.nio.file.Path;
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
}
