package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.health.RequestProbe;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code updater drill} on a real service process: back to the previous version through ROLLBACK,
 * forward again through an ordinary update, both reported with the drill's figures, the node state
 * as it was before.
 */
class DrillTest {
  static final String HEALTHY = "healthy=true\n";

  @TempDir Path tmp;
  TestTarget target;

  @AfterEach
  void close() {
    if (target != null) {
      target.close();
    }
  }

  private void installTwoVersions(String strategy) throws Exception {
    target = new TestTarget(tmp, strategy, null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    target.server.reports.clear();
  }

  @Test
  void goesBackThroughRollbackAndForwardThroughAnUpdateReportingBothLegs() throws Exception {
    installTwoVersions("restart");
    NodeState before = NodeState.read(target.homeDirs().nodeFile());
    RequestProbe probe = new RequestProbe(URI.create("http://127.0.0.1:" + target.port + "/health"),
        Duration.ofMillis(20), Duration.ofSeconds(1));

    Result r = target.engine().drill(probe);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(r.message()).startsWith("drill: back on 1.0.0 in ").contains("; forward: committed (now running 2.0.0)");
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    NodeState after = NodeState.read(target.homeDirs().nodeFile());
    assertThat(after.previous()).isEqualTo(before.previous()).isEqualTo("1.0.0");
    assertThat(after.badReleases()).as("a drill marks nothing bad").isEmpty();

    List<JournalRecord> history = target.engine().journal().history();
    JournalRecord back = history.get(history.size() - 2);
    JournalRecord forward = history.get(history.size() - 1);
    assertThat(back.kind()).isEqualTo(EventKind.DRILL);
    assertThat(back.outcome()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(back.fromVersion()).isEqualTo("2.0.0");
    assertThat(back.toVersion()).isEqualTo("1.0.0");
    assertThat(back.steps()).extracting(s -> s.state()).contains(UpdateState.ROLLBACK.name());
    assertThat(back.metrics()).containsEntry("drill.leg", 1.0).containsKeys("drill.seconds", "drill.requests",
        "drill.requests_failed", "drill.longest_gap_seconds");
    assertThat(back.metrics().get("drill.requests")).isPositive();
    assertThat(back.notesShown()).anySatisfy(n -> assertThat(n.message()).startsWith("drill: switching back to 1.0.0"));
    assertThat(forward.kind()).isEqualTo(EventKind.UPDATE);
    assertThat(forward.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(forward.toVersion()).isEqualTo("2.0.0");
    assertThat(forward.steps()).extracting(s -> s.state()).contains("SWITCH", "VERIFY", "COMMIT");
    assertThat(forward.metrics()).containsEntry("drill.leg", 2.0);
    assertThat(forward.notesShown()).anySatisfy(n -> assertThat(n.message()).startsWith("drill: forward"));
    // A restart leaves a gap: the probe saw it, and the service's own restart count says the same.
    assertThat(back.metrics().get("drill.longest_gap_seconds") + forward.metrics().get("drill.longest_gap_seconds"))
        .isPositive();
    assertThat(target.server.reports.values()).hasSize(2).allSatisfy(report ->
        assertThat(report).asString().contains("\"drill.leg\""));
  }

  @Test
  void aNodeWithoutAPreviousVersionIsRefusedAndNothingMoves() throws Exception {
    target = new TestTarget(tmp, "restart", null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    long pid = target.serviceProcesses().get(0).pid();

    Result r = target.engine().drill(null);

    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.code()).isEqualTo(ErrorCode.NO_PREVIOUS_VERSION);
    assertThat(r.message()).contains("drill a node that updated at least once");
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);
  }

  @Test
  void aForwardLegThatFailsLeavesTheNodeOnThePreviousVersionAndSaysSo() throws Exception {
    installTwoVersions("restart");
    // The channel moved on to a release that does not start: forward installs it, it fails, the node rolls back.
    Release bad = target.repo.publish("3.0.0", 3, TestTarget.files("3.0.0", "healthy=false\n"), "1.0.0");
    target.repo.point("stable", bad);

    Result r = target.engine().drill(null);

    assertThat(r.outcome()).isIn(Outcome.ROLLED_BACK);
    assertThat(r.message()).startsWith("drill: back on 1.0.0").contains("; forward: rolled_back");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
  }
}
