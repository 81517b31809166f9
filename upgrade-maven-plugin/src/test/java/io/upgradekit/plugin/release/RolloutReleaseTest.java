package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan travels in the signed manifest; a published release's plan cannot be changed by a re-run. */
class RolloutReleaseTest {
  static final RolloutPlan PLAN = RolloutSettings.plan(new RolloutSettings("batches", "1", "75%", "10m", "0",
      "manual", new RolloutSettings.Rollback("auto", "3", "2", "5m", "any"), "zone"), Map.of());

  @TempDir Path dir;
  Fixture fixture;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new Fixture(dir);
  }

  ReleaseRequest request(String version, RolloutPlan plan) throws IOException {
    ReleaseRequest r = fixture.request(version, fixture.payload(version));
    return new ReleaseRequest(r.app(), r.version(), r.channel(), r.payload(), r.repository(), r.token(),
        r.signingKey(), r.deltaCount(), r.created(), r.manifestLifetime(), r.pointerLifetime(), r.labels(),
        r.workDirectory(), r.summaryFile(), r.pointerAttempts(), plan);
  }

  ReleaseManifest signedManifest(String version) throws IOException {
    MetadataVerifier verifier = new MetadataVerifier(RepositoryTrust.load(new DirectoryRepository(
        fixture.repository), Fixture.CLOCK), Fixture.CLOCK);
    ChannelPointer pointer = verifier.verifyChannelPointer(Files.readAllBytes(fixture.repository.resolve(
        RepositoryLayout.channelPointer("demo", "stable"))), "demo", "stable", 0);
    assertThat(pointer.version()).isEqualTo(version);
    return verifier.verifyReleaseManifest(Files.readAllBytes(fixture.repository.resolve(
        RepositoryLayout.releaseManifest("demo", version))), pointer);
  }

  @Test
  void theSignedManifestCarriesThePlanAndTheSummaryShowsIt() throws IOException {
    ReleaseResult result = fixture.builder().release(request("1.0.0", PLAN));

    assertThat(signedManifest("1.0.0").rollout()).isEqualTo(PLAN);
    assertThat(result.rollout()).isEqualTo(PLAN);
    assertThat(Files.readString(dir.resolve("work-1.0.0-release.json"), StandardCharsets.UTF_8))
        .contains("\"rollout\":{\"approval\":\"manual\",\"bakeSeconds\":600,\"canaryNodes\":1,");
  }

  @Test
  void withoutAPlanTheManifestHasNoneAndTheSummaryNoRolloutMember() throws IOException {
    ReleaseResult result = fixture.builder().release(request("1.0.0", null));

    assertThat(signedManifest("1.0.0").rollout()).isNull();
    assertThat(result.rollout()).isNull();
    assertThat(Files.readString(dir.resolve("work-1.0.0-release.json"))).doesNotContain("rollout");
  }

  @Test
  void aReRunWithTheSamePlanChangesNothing() throws IOException {
    fixture.builder().release(request("1.0.0", PLAN));

    ReleaseResult again = fixture.builder().release(request("1.0.0", PLAN));

    assertThat(again.status()).isEqualTo(ReleaseResult.Status.UNCHANGED);
    assertThat(again.rollout()).isEqualTo(PLAN);
  }

  @Test
  void aReRunWithAnotherPlanIsRefusedNotSilentlyIgnored() throws IOException {
    fixture.builder().release(request("1.0.0", null));
    var before = fixture.snapshot();

    assertThatThrownBy(() -> fixture.builder().release(request("1.0.0", PLAN)))
        .isInstanceOfSatisfying(UpgradeException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.VERSION_EXISTS);
          assertThat(e.getMessage()).contains("with another rollout plan (none; this build: strategy batches,",
              "restore the published <rollout>", "new <version>");
        });
    assertThat(fixture.snapshot()).isEqualTo(before);
  }
}
