package io.upgradekit.server.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ClaimRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The services' rules about their callers: a node claims and reports only for itself. */
class CallerRulesTest {
  static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

  @TempDir Path root;
  ClaimService claims;

  @BeforeEach
  void publishARelease() throws Exception {
    Path release = root.resolve("apps/demo/releases/1.0.0/release.json");
    Files.createDirectories(release.getParent());
    Files.write(release, new byte[] {'{', '}'});
    claims = new ClaimService(root, Clock.fixed(NOW, ZoneOffset.UTC), new ClaimCapacity(2, Map.of()));
  }

  static ClaimRequest request(String node) {
    return new ClaimRequest("demo", "1.0.0", "wave-1", node);
  }

  @Test
  void aNodeClaimsOnlyForItselfAndThePublisherForAnyNode() throws Exception {
    assertThatThrownBy(() -> claims.claim(new Caller.Node("web-01"), request("web-02")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED);
          assertThat(e.getMessage()).isEqualTo("node web-01 cannot claim for node web-02");
        });
    assertThat(root.resolve("claims")).doesNotExist();

    ClaimService.Result own = claims.claim(new Caller.Node("web-01"), request("web-01"));
    assertThat(own.created()).isTrue();
    assertThat(own.claim().node()).isEqualTo("web-01");
    ClaimService.Result forAnother = claims.claim(new Caller.Publisher(), request("web-02"));
    assertThat(forAnother.claim().node()).isEqualTo("web-02");
    assertThat(forAnother.claim().slot()).isEqualTo(1);
  }

  @Test
  void namesAreCheckedAfterTheCallerAndRefusedAsNames() {
    assertThatThrownBy(() -> claims.claim(new Caller.Node("web-01"), request("../x")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED));
    assertThatThrownBy(() -> claims.claim(new Caller.Publisher(), request("../x")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
    assertThatThrownBy(() -> claims.claim(new Caller.Publisher(), new ClaimRequest(null, "1.0.0", "w", "web-01")))
        .isInstanceOfSatisfying(UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
  }

  @Test
  void aNodeReportsOnlyForItself() throws Exception {
    FeedbackService feedback = new FeedbackService(root, new FleetIndex(), 1 << 20);
    byte[] report = Json.canonicalBytes(new Feedback("feedback", "ev-1", 0, "web-01", "demo", "0.9", "1.0.0", "END",
        "COMMITTED", List.of(new StepReport("SWITCH", NOW, 15, "OK", null, null)), null, null, null, NOW));
    assertThatThrownBy(() -> feedback.store(new Caller.Node("web-02"), report))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ACCESS_DENIED);
          assertThat(e.getMessage()).contains("node web-02 cannot report for node web-01");
        });
    assertThat(root.resolve("feedback")).doesNotExist();
    assertThat(feedback.store(new Caller.Node("web-01"), report).stored()).isTrue();
  }
}
