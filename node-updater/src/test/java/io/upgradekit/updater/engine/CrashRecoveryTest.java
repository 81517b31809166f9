package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import io.upgradekit.updater.testsupport.TestUpdaterMain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code kill -9} of the updater at every state: a separate updater JVM halts (Runtime.halt, no
 * shutdown hooks) right after journaling the transition into the state; the next start must end
 * on exactly one complete version with the service running, and every event reported once.
 */
@Timeout(180)
class CrashRecoveryTest {
  private static final String HEALTHY = "healthy=true\n";

  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stopEverything() {
    if (target != null) {
      target.close();
    }
  }

  private void installV1() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
  }

  @ParameterizedTest
  @EnumSource(value = UpdateState.class, names = "ROLLBACK", mode = EnumSource.Mode.EXCLUDE)
  void killedAtEveryStateTheNextStartEndsOnOneCompleteVersion(UpdateState state) throws Exception {
    installV1();
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2);

    int halted = target.runUpdater(state.name(), "run", "--once");
    assertThat(halted).as(target.updaterLog()).isEqualTo(TestUpdaterMain.HALTED);
    assertThat(target.homeDirs().journal()).as("the crash left an unfinished journal").exists();

    int next = target.runUpdater(null, "run", "--once");
    assertThat(next).as(target.updaterLog()).isZero();

    assertOneCompleteVersionRunning("2.0.0", v2);
    assertEveryEventReportedOnce();
  }

  @Test
  void killedDuringRollbackTheNextStartFinishesTheRollback() throws Exception {
    installV1();
    Files.writeString(target.configFile, Files.readString(target.configFile).replace("attempts: 150",
        TestTarget.FEW_HEALTH_ATTEMPTS));
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", "healthy=false\n"), "1.0.0");
    target.repo.point("stable", v2);

    assertThat(target.runUpdater("ROLLBACK", "run", "--once")).as(target.updaterLog())
        .isEqualTo(TestUpdaterMain.HALTED);
    int next = target.runUpdater(null, "run", "--once");

    // Reconciliation finished the rollback; the retry of 2.0.0 failed its health check again.
    assertThat(next).as(target.updaterLog()).isEqualTo(5);
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.serviceProcesses()).hasSize(1);
    assertEveryEventReportedOnce();
    assertThat(target.runUpdater(null, "run", "--once")).isZero(); // 2.0.0 is now marked bad
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
  }

  @Test
  void killedDuringAManualRollbackTheNextStartFinishesIt() throws Exception {
    installV1();
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2);
    assertThat(target.runUpdater(null, "run", "--once")).isZero();
    assertThat(target.servedVersion()).isEqualTo("2.0.0");

    assertThat(target.runUpdater("ROLLBACK", "rollback")).isEqualTo(TestUpdaterMain.HALTED);
    assertThat(target.runUpdater(null, "run", "--once")).as(target.updaterLog()).isZero();

    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.serviceProcesses()).hasSize(1);
    assertEveryEventReportedOnce();
  }

  @Test
  void aCrashLoopIsBrokenAfterMaxCrashes() throws Exception {
    installV1();
    Files.writeString(target.configFile, Files.readString(target.configFile) + "maxCrashes: 2\n");
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2);

    assertThat(target.runUpdater("START", "run", "--once")).isEqualTo(TestUpdaterMain.HALTED);
    assertThat(target.runUpdater("START", "run", "--once")).isEqualTo(TestUpdaterMain.HALTED);
    // Second interruption reached maxCrashes: the release is marked bad, the node stays on 1.0.0.
    assertThat(target.runUpdater(null, "run", "--once")).as(target.updaterLog()).isZero();

    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.serviceProcesses()).hasSize(1);
    assertThat(target.updaterLog()).contains("marked bad");
  }

  private void assertOneCompleteVersionRunning(String version, Release release) throws Exception {
    Home home = target.homeDirs();
    assertThat(home.currentVersion()).contains(version);
    Trees.verify(home.version(version), release.manifest().payload());
    assertThat(target.servedVersion()).isEqualTo(version);
    assertThat(target.serviceProcesses()).hasSize(1);
    assertThat(home.journal()).doesNotExist();
    try (Stream<Path> staging = Files.exists(home.staging()) ? Files.list(home.staging()) : Stream.empty()) {
      assertThat(staging).isEmpty();
    }
  }

  /** Every finished event with a target was reported exactly once; nothing is left in the outbox. */
  private void assertEveryEventReportedOnce() {
    List<JournalRecord> events = target.engine().journal().history();
    Map<String, Long> reportsPerEvent = target.server.reports.values().stream()
        .map(body -> Json.read(body.getBytes(StandardCharsets.UTF_8), Feedback.class, "feedback").eventId())
        .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    for (JournalRecord e : events) {
      if (e.toVersion() != null) {
        assertThat(reportsPerEvent.get(e.eventId())).as("reports of event " + e.eventId() + " (" + e.outcome() + ")")
            .isEqualTo(1L);
      }
    }
    assertThat(target.engine().outbox().pending()).isEmpty();
  }
}
