package io.upgradekit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.plugin.release.ReleaseResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The smoke test of the harness and of the product's main path: hello-service released with the
 * real {@code mvn package upgrade:release}, served by repo-server, installed on three nodes (one
 * {@code restart}, two {@code overlap}) as a full package, then upgraded to 2.0.0 by delta while a
 * load generator runs. Every view agrees: the daemons' result lines, {@code status --json}, {@code
 * history --json}, the services' answers, repo-server's access log and {@code /v1/status}.
 */
class UpgradeByDeltaIT {
  private static final Duration WAIT = Duration.ofMinutes(2);

  @Test
  @Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
  void threeNodesUpgradeFromAFullInstallByDelta() throws Exception {
    Artifacts artifacts = Artifacts.locate();
    try (Workspace ws = Workspace.create("smoke")) {
      Path repository = ws.dir("repository");
      Path key = ws.dir("keys").resolve("release.pem");
      LibraryReleaser.keygen(key, repository, ws.logs().resolve("keygen.log"));
      MavenReleaser maven = MavenReleaser.create(artifacts, ws.dir("build"), key, repository.toString(), ws.logs());

      ReleaseResult v1 = maven.release(HelloBuild.of("1.0.0"));
      assertThat(v1.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
      assertThat(v1.deltas()).isEmpty();

      Fleet fleet = Fleet.start(ws, artifacts, repository, List.of(
          NodeConfig.defaults("node-1", Strategy.RESTART, Ports.freeLoopbackPort()),
          NodeConfig.defaults("node-2", Strategy.OVERLAP, Ports.freeLoopbackPort()),
          NodeConfig.defaults("node-3", Strategy.OVERLAP, Ports.freeLoopbackPort())));
      fleet.startDaemons();
      fleet.awaitCommitted("1.0.0", WAIT);
      for (Node node : fleet.nodes()) {
        assertThat(get(node.serviceUrl())).isEqualTo(HelloBuild.DEFAULT_GREETING + " 1.0.0\n");
      }

      Map<String, Long> marks = fleet.marks();
      LoadReport report;
      ReleaseResult v2;
      try (LoadGenerator load = fleet.load(200).build().start()) {
        v2 = maven.release(HelloBuild.of("2.0.0").withGreeting("Hi"));
        fleet.awaitCommitted("2.0.0", marks, WAIT);
        report = load.stop();
      }
      System.out.println("load during the upgrade to 2.0.0:\n" + report.table());

      assertThat(v2.deltas()).singleElement().satisfies(d -> {
        assertThat(d.fromVersion()).isEqualTo("1.0.0");
        assertThat(d.blob().size()).isLessThan(v2.packageBlob().size() / 100);
      });
      // Each node downloaded the full package once (1.0.0) and the delta once (2.0.0), never the new package.
      Map<String, RepoServer.BlobDownloads> downloads = fleet.server().blobDownloads();
      assertThat(downloads.get(v1.packageBlob().sha256())).isEqualTo(
          new RepoServer.BlobDownloads(3, 3 * v1.packageBlob().size()));
      assertThat(downloads.get(v2.deltas().get(0).blob().sha256())).isEqualTo(
          new RepoServer.BlobDownloads(3, 3 * v2.deltas().get(0).blob().size()));
      assertThat(downloads).doesNotContainKey(v2.packageBlob().sha256());

      FleetStatus fleetStatus = fleet.server().status();
      for (Node node : fleet.nodes()) {
        assertThat(get(node.serviceUrl())).isEqualTo("Hi 2.0.0\n");
        NodeStatus status = node.status();
        assertThat(status.current()).isEqualTo("2.0.0");
        assertThat(status.previous()).isEqualTo("1.0.0");
        assertThat(status.versionsOnDisk()).containsExactlyInAnyOrder("1.0.0", "2.0.0");
        assertThat(status.serviceRunning()).isTrue();
        assertThat(status.pendingReports()).isZero();
        assertThat(node.currentVersion()).contains("2.0.0");

        UpdateRecord upgrade = node.lastEventTo("2.0.0").orElseThrow();
        assertThat(upgrade.outcome()).isEqualTo("COMMITTED");
        assertThat(upgrade.fromVersion()).isEqualTo("1.0.0");
        assertThat(upgrade.states()).containsExactly("BEGIN", "RESOLVE", "DOWNLOAD", "STAGE", "GATE", "STOP",
            "SWITCH", "START", "VERIFY", "COMMIT", "END_ACTION");
        assertThat(upgrade).isEqualTo(status.lastEvent());

        FleetStatus.NodeApp seen = fleetStatus.node(node.id(), "hello").orElseThrow();
        assertThat(seen.currentVersion()).isEqualTo("2.0.0");
        assertThat(seen.lastOutcome()).isEqualTo("COMMITTED");
        assertThat(seen.lastFromVersion()).isEqualTo("1.0.0");
        assertThat(seen.reports()).isEqualTo(2);

        // The load reached every node before and after its switch.
        LoadReport.Stats stats = report.target(node.id());
        assertThat(stats.versions()).containsKeys("1.0.0", "2.0.0");
      }
      assertThat(report.overall().succeeded()).isPositive();
    }
  }

  private static String get(URI url) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    return client.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
