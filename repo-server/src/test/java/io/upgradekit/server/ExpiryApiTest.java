package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.DocumentExpiries;
import io.upgradekit.schema.api.FleetStatus;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.sign.Envelopes;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The expiry of the signed documents nodes depend on, over HTTP: the warnings in {@code GET
 * /v1/status}, {@code GET /v1/expiries} for operators and viewers, the gauges at {@code /metrics}
 * (checked by promtool where installed), and a pointer re-signed through the API clearing its
 * warning at once.
 */
class ExpiryApiTest {
  @Test
  void statusExpiriesAndMetricsWarnWithinTheMarginAndAReSignClearsTheWarning(@TempDir Path dir) throws Exception {
    // The test repository's pointer and manifest expire in a day: inside a margin of two.
    try (ServerFixture server = DashboardApiTest.start(dir, b -> b.expiryWarning(Duration.ofDays(2)))) {
      FleetStatus status = ApiBody.FLEET_STATUS.read(server.get("/v1/status").body().getBytes(StandardCharsets.UTF_8));
      assertThat(status.expiring()).extracting(DocumentExpiries.Document::kind).containsExactlyInAnyOrder("channel",
          "release");
      assertThat(status.expiring()).filteredOn(d -> d.kind().equals("channel")).singleElement().satisfies(d ->
          assertThat(d.warning()).startsWith("the channel pointer shop/stable expires in ")
              .contains("mvn upgrade:resign -Dupgrade.app=shop -Dupgrade.channel=stable"));

      assertThat(server.get("/v1/expiries").statusCode()).as("operators and viewers only").isEqualTo(401);
      HttpResponse<String> answer = server.send(server.request("/v1/expiries")
          .header("Authorization", "Bearer " + DashboardApiTest.VIEWER).build());
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
      DocumentExpiries expiries = ApiBody.DOCUMENT_EXPIRIES.read(answer.body().getBytes(StandardCharsets.UTF_8));
      assertThat(expiries.warnBeforeSeconds()).isEqualTo(Duration.ofDays(2).toSeconds());
      assertThat(expiries.documents()).extracting(DocumentExpiries.Document::kind).contains("root", "channel",
          "release");

      String metrics = server.get("/metrics").body();
      assertThat(metrics).contains("upgradekit_signed_document_expiry_seconds{document=\"channel\",app=\"shop\","
          + "channel=\"stable\"} ", "upgradekit_signed_documents_expiring{document=\"channel\"} 1\n",
          "upgradekit_signed_document_expiry_warning_seconds 172800\n");
      io.upgradekit.server.core.ExpiryWatchTest.promtool(metrics);

      // Re-signed for 30 days through the publish API (as upgrade:resign does): the warning goes at once.
      Path pointerFile = server.root.resolve(RepositoryLayout.channelPointer("shop", "stable"));
      byte[] manifest = Files.readAllBytes(server.root.resolve(RepositoryLayout.releaseManifest("shop", "2.0")));
      ChannelPointer next = ChannelPointer.of("shop", "stable", "2.0", 3, Instant.now().plus(30, ChronoUnit.DAYS)
          .truncatedTo(ChronoUnit.SECONDS), new BlobRef(Hashes.sha256(manifest), manifest.length), null);
      TestRepository repo = DashboardApiTest.lastRepository;
      HttpResponse<String> put = server.put("/v1/apps/shop/channels/stable", Envelopes.sign(DocumentType.CHANNEL,
          next, List.of(repo.releaseKey)), "If-Match", "\"" + Hashes.sha256(Files.readAllBytes(pointerFile)) + "\"");
      assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
      FleetStatus after = ApiBody.FLEET_STATUS.read(server.get("/v1/status").body().getBytes(StandardCharsets.UTF_8));
      assertThat(after.expiring()).extracting(DocumentExpiries.Document::kind).containsExactly("release");
      assertThat(server.get("/metrics").body()).contains("upgradekit_signed_documents_expiring{document=\"channel\"} 0\n");
    }
  }
}
