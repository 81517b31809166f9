package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.upgradekit.it.NodeConfig.Strategy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bin/updater drill} on real nodes running hello-service: back to the previous version and
 * forward again through the incident's code, measured by a probe of the service as a client sees
 * it, and both events stored on repo-server marked as a drill. An {@code overlap} node rehearses it
 * without a failed request; a {@code restart} node's probe sees its gap.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DrillIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aDrillGoesBackAndForwardThroughTheIncidentsCodeAndIsReportedAsADrill() throws Exception {
    Artifacts artifacts = Artifacts.locate();
    try (Workspace ws = Workspace.create("drill")) {
      Path repository = ws.dir("repository");
      Path key = ws.dir("keys").resolve("release.pem");
      LibraryReleaser.keygen(key, repository, ws.logs().resolve("keygen.log"));
      LibraryReleaser releaser = new LibraryReleaser(artifacts.helloDist(), ws.dir("releases"), key,
          repository.toString(), null, ws.logs().resolve("releases.log"));
      releaser.release(HelloBuild.of("1.0.0"));
      Fleet fleet = Fleet.start(ws, artifacts, repository, List.of(
          NodeConfig.defaults("drill-overlap", Strategy.OVERLAP, Ports.freeLoopbackPort()),
          NodeConfig.defaults("drill-restart", Strategy.RESTART, Ports.freeLoopbackPort())));
      fleet.forEachNode(n -> n.runOnce(WAIT).requireSuccess(n.id() + ": install 1.0.0"));
      releaser.release(HelloBuild.of("2.0.0"));
      fleet.forEachNode(n -> n.runOnce(WAIT).requireSuccess(n.id() + ": update to 2.0.0"));

      for (Node node : fleet.nodes()) {
        Command.Result drill = node.updater("drill", WAIT, List.of("drill", "--probe",
            node.serviceUrl().resolve("/").toString(), "--probe-interval", "10ms"));
        assertThat(drill.exitCode()).as(node.id() + ": " + drill.stdout()).isZero();
        assertThat(node.currentVersion()).as(node.id()).contains("2.0.0");
        assertThat(Scenarios.answers(node, 10)).as(node.id() + " answers").containsExactly("Hello from"
            + " hello-service 2.0.0");

        List<UpdateRecord> history = node.history();
        UpdateRecord back = history.get(history.size() - 2);
        UpdateRecord forward = history.get(history.size() - 1);
        assertThat(back.kind()).isEqualTo("drill");
        assertThat(back.outcome()).isEqualTo("ROLLED_BACK");
        assertThat(back.toVersion()).isEqualTo("1.0.0");
        assertThat(forward.kind()).isEqualTo("update");
        assertThat(forward.outcome()).isEqualTo("COMMITTED");
        assertThat(forward.toVersion()).isEqualTo("2.0.0");
        double requests = back.metrics().get("drill.requests") + forward.metrics().get("drill.requests");
        double failed = back.metrics().get("drill.requests_failed") + forward.metrics().get("drill.requests_failed");
        assertThat(requests).as(node.id() + ": the probe ran through both legs").isGreaterThan(20);
        if (node.config().strategy() == Strategy.OVERLAP) {
          assertThat(failed).as(node.id() + ": overlap switches without a failed request").isZero();
        } else {
          assertThat(Math.max(back.metrics().get("drill.longest_gap_seconds"),
              forward.metrics().get("drill.longest_gap_seconds")))
              .as(node.id() + ": a restart has a gap the probe sees (requests go every 10 ms)").isGreaterThan(0.1);
        }
        Scenarios.await(node.id() + "'s reports stored", WAIT, () -> node.status().pendingReports() == 0);
        JsonNode stored = Scenarios.storedReport(fleet.server(), node.id(), back.eventId());
        assertThat(stored.path("metrics").path("drill.leg").asDouble()).isEqualTo(1.0);
        assertThat(Scenarios.storedReport(fleet.server(), node.id(), forward.eventId()).path("metrics")
            .path("drill.leg").asDouble()).isEqualTo(2.0);
      }
    }
  }
}
