package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.testsupport.FakeApplier;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestRepoServer;
import io.upgradekit.updater.testsupport.TestTarget;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The updater as its own target: switch, exit 75, the launcher runs the new version or falls back. */
@Timeout(60)
class SelfUpgradeTest {
  @TempDir
  Path tmp;

  private static Map<String, byte[]> updater(String version) {
    return Map.of("lib/node-updater.jar", ("jar of " + version).getBytes(StandardCharsets.UTF_8));
  }

  private UpdateEngine engine(TestRepo repo, TestRepoServer server) throws Exception {
    Path config = tmp.resolve("self.yaml");
    Files.writeString(config, "repository:\n  url: " + server.base() + "\n  trustRoot: " + repo.pinnedRoot()
        + "\napp: demo\nchannel: stable\nhome: " + tmp.resolve("updater-home")
        + "\nnode:\n  id: node-1\nservice:\n  strategy: self\n");
    return new UpdateEngine(ConfigLoader.load(config), new FakeApplier(), Clock.systemUTC(),
        TestTarget.notes(System.out::println));
  }

  @Test
  void switchesExitsForReexecAndTheNewProcessCommitsOrTheFallbackRollsBack() throws Exception {
    TestRepo repo = new TestRepo(tmp.resolve("repo"));
    try (TestRepoServer server = new TestRepoServer(tmp.resolve("repo"))) {
      TestRepo.Release v1 = repo.publish("1.0.0", 1, updater("1.0.0"));
      repo.point("stable", v1);
      UpdateEngine.Result first = engine(repo, server).runOnce(false);
      assertThat(first.outcome()).as(first.message()).isEqualTo(Outcome.REEXEC);
      assertThat(first.exitCode()).isEqualTo(75);
      // The launcher runs current/ again: that process reconciles and commits, and its status is the update's.
      UpdateEngine.Result relaunched = engine(repo, server).runOnce(false);
      assertThat(relaunched.outcome()).isEqualTo(Outcome.COMMITTED);
      assertThat(relaunched.exitCode()).isZero();
      assertThat(engine(repo, server).runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
      UpdateEngine e = engine(repo, server);
      assertThat(e.journal().history()).last().satisfies(r -> assertThat(r.outcome()).isEqualTo(Outcome.COMMITTED));

      TestRepo.Release v2 = repo.publish("2.0.0", 2, updater("2.0.0"), "1.0.0");
      repo.point("stable", v2);
      assertThat(engine(repo, server).runOnce(false).outcome()).isEqualTo(Outcome.REEXEC);
      Home home = e.home();
      assertThat(home.currentVersion()).contains("2.0.0");
      assertThat(Files.readString(home.state().resolve("self-previous"))).isEqualTo("1.0.0");

      // The new version "does not start": the launcher switches back, the old version reconciles.
      Switcher.switchTo(home, "1.0.0");
      UpdateEngine.Result after = engine(repo, server).runOnce(false);
      assertThat(after.outcome()).isEqualTo(Outcome.ROLLED_BACK);
      assertThat(after.exitCode()).isEqualTo(5);
      assertThat(engine(repo, server).runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE); // 2.0.0 is bad now
      assertThat(engine(repo, server).journal().history()).last().satisfies(r -> {
        assertThat(r.outcome()).isEqualTo(Outcome.ROLLED_BACK);
        assertThat(r.errorCode()).isEqualTo(ErrorCode.START_FAILED.name());
      });
      assertThat(NodeState.read(home.nodeFile()).badReleases()).containsExactly("2.0.0");
      assertThat(home.state().resolve("self-previous")).doesNotExist();
    }
  }

  @Test
  void launcherRunsTheNewVersionAfterStatus75AndSwitchesBackWhenItCannotStart() throws Exception {
    Path home = tmp.resolve("updater-home");
    for (String v : new String[] {"1.0.0", "2.0.0"}) {
      Files.createDirectories(home.resolve("versions/" + v + "/lib"));
      Files.writeString(home.resolve("versions/" + v + "/lib/node-updater.jar"), v);
    }
    Files.createSymbolicLink(home.resolve("current"), Path.of("versions/1.0.0"));
    Files.createDirectories(home.resolve("state"));
    // A stand-in for java. 1.0.0 "updates itself" once: switches current to 2.0.0, writes
    // self-previous and exits 75. 2.0.0 dies at once (status 1). 1.0.0 run again exits 0.
    Path fakeJava = tmp.resolve("java");
    Path marker = tmp.resolve("switched");
    Files.writeString(fakeJava, "#!/bin/sh\nwhile [ \"$1\" != -jar ]; do shift; done\nv=$(cat \"$2\")\n"
        + "echo \"ran $v\" >> " + tmp.resolve("runs.log") + "\n"
        + "if [ \"$v\" = 1.0.0 ] && [ ! -f " + marker + " ]; then touch " + marker + "; echo 1.0.0 > " + home
        + "/state/self-previous; ln -s versions/2.0.0 " + home + "/.current.tmp; mv -T " + home + "/.current.tmp "
        + home + "/current; exit 75; fi\n"
        + "[ \"$v\" = 2.0.0 ] && exit 1\nexit 0\n");
    Files.setPosixFilePermissions(fakeJava, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path launcher = Path.of("src/dist/bin/updater").toAbsolutePath();
    ProcessBuilder pb = new ProcessBuilder("sh", launcher.toString(), "run").redirectErrorStream(true)
        .redirectOutput(tmp.resolve("launcher.log").toFile());
    pb.environment().put("UPDATER_HOME", home.toString());
    pb.environment().put("JAVA", fakeJava.toString());
    pb.environment().remove("JAVA_HOME");
    Process launched = pb.start();
    assertThat(launched.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(launched.exitValue()).as(Files.readString(tmp.resolve("launcher.log"))).isZero();
    assertThat(Files.readSymbolicLink(home.resolve("current"))).isEqualTo(Path.of("versions/1.0.0"));
    assertThat(Files.readAllLines(tmp.resolve("runs.log"))).containsExactly("ran 1.0.0", "ran 2.0.0", "ran 1.0.0");
  }
}
