package io.upgradekit.plugin.set;

import static io.upgradekit.plugin.set.SetDescriptorTest.FOUR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.plugin.release.DirectoryRepository;
import io.upgradekit.plugin.release.RepositoryTrust;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SetPublisherTest {
  @TempDir Path dir;
  SetFixture fixture;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new SetFixture(dir);
  }

  void refused(SetRequest request, ErrorCode code, String... message) throws IOException {
    Map<String, String> before = fixture.snapshot();
    assertThatThrownBy(() -> fixture.publisher().publish(request)).isInstanceOfSatisfying(UpgradeException.class,
        e -> {
          assertThat(e.code()).as(e.getMessage()).isEqualTo(code);
          assertThat(e.getMessage()).contains(message);
        });
    assertThat(fixture.snapshot()).as("nothing was written").isEqualTo(before);
    assertThat(dir.resolve("release-set.json")).doesNotExist();
  }

  @Test
  void aSetOfPublishedReleasesIsSignedAndStoredOnce() throws IOException {
    fixture.releaseFour();

    SetResult result = fixture.publisher().publish(fixture.request("2026.1", FOUR));

    assertThat(result.status()).isEqualTo(SetResult.Status.PUBLISHED);
    assertThat(result.path()).isEqualTo("sets/shop/2026.1.json");
    assertThat(result.order()).containsExactly("database", "cache", "api", "gateway");
    assertThat(result.components()).extracting(SetResult.Component::rollout)
        .allSatisfy(plan -> assertThat(plan).contains("strategy batches"));
    MetadataVerifier verifier = new MetadataVerifier(RepositoryTrust.load(new DirectoryRepository(
        fixture.repository), SetFixture.CLOCK), SetFixture.CLOCK);
    ReleaseSet stored = verifier.verifyReleaseSet(Files.readAllBytes(fixture.repository.resolve(
        RepositoryLayout.releaseSet("shop", "2026.1"))), "shop", "2026.1");
    assertThat(stored.component("api").dependsOn()).containsExactly("cache");
    assertThat(stored.sequence()).isEqualTo(SetFixture.BUILT.getEpochSecond());
    assertThat(Files.readString(dir.resolve("release-set.json"))).contains("\"status\":\"published\"",
        "\"order\":[\"database\",\"cache\",\"api\",\"gateway\"]");

    Map<String, String> before = fixture.snapshot();
    assertThat(fixture.publisher().publish(fixture.request("2026.1", FOUR)).status())
        .isEqualTo(SetResult.Status.UNCHANGED);
    assertThat(fixture.snapshot()).isEqualTo(before);
  }

  @Test
  void anotherSetUnderAPublishedVersionIsRefused() throws IOException {
    fixture.releaseFour();
    fixture.publisher().publish(fixture.request("2026.1", FOUR));
    Files.delete(dir.resolve("release-set.json"));

    refused(fixture.request("2026.1", FOUR.replace("auto", "manual")), ErrorCode.VERSION_EXISTS,
        "already published", "rollback auto", "rollback manual", "new <setVersion>");
  }

  @Test
  void everyMissingReleaseIsNamedAndNothingIsWritten() throws IOException {
    fixture.release("database", "v2", SetFixture.PLAN);
    fixture.release("api", "v2", SetFixture.PLAN);

    refused(fixture.request("1", FOUR), ErrorCode.REFERENCE_MISSING, "cache v2 (no apps/cache/releases/v2/release.json)",
        "gateway v2", "Release every component first", "nothing was written");
  }

  @Test
  void aComponentWithoutARolloutPlanIsRefused() throws IOException {
    fixture.releaseFour();
    fixture.release("gateway", "v3", null);

    refused(fixture.request("1", FOUR.replace("name: gateway,  version: v2", "name: gateway,  version: v3")),
        ErrorCode.CONFIG_INVALID, "without a rollout plan: gateway v3", "<rollout/>");
  }

  @Test
  void aComponentWhosePlanNamesAnotherSetIsRefusedAndOneThatNamesNoneIsWarnedAbout() throws IOException {
    fixture.releaseFour();
    fixture.release("gateway", "v3", SetFixture.PLAN.withSet("store"));

    refused(fixture.request("1", FOUR.replace("name: gateway,  version: v2", "name: gateway,  version: v3")),
        ErrorCode.CONFIG_INVALID, "whose plans name another release set: gateway v3 (set store)",
        "<rollout><set>shop</set>");

    fixture.publisher().publish(fixture.request("1", FOUR));
    assertThat(fixture.events).filteredOn(e -> e instanceof io.upgradekit.plugin.release.Event.Warning)
        .extracting(Object::toString).singleElement().asString()
        .contains("name no release set", "database v2", "<rollout><set>shop</set>");
  }

  @Test
  void componentsWhosePlansNameTheSetArePublishedWithoutWarning() throws IOException {
    for (String app : java.util.List.of("database", "cache", "api", "gateway")) {
      fixture.release(app, "v2", SetFixture.PLAN.withSet("shop"));
    }
    fixture.publisher().publish(fixture.request("1", FOUR));
    assertThat(fixture.events).noneMatch(e -> e instanceof io.upgradekit.plugin.release.Event.Warning);
  }

  @Test
  void theSetsRulesAreCheckedBeforeTheRepositoryIsOpened() throws IOException {
    SetRequest cyclic = fixture.request("1", FOUR.replace("depends_on: []", "depends_on: [gateway]"));
    refused(new SetRequest(cyclic.name(), cyclic.version(), cyclic.descriptor(), dir.resolve("nowhere").toString(),
        null, cyclic.signingKey(), cyclic.created(), cyclic.lifetime(), cyclic.summaryFile()), ErrorCode.SET_CYCLE,
        "release-set.yaml", "cycle");
  }

  @Test
  void theKeyAndEveryComponentsSignatureAreChecked() throws IOException {
    fixture.releaseFour();
    SetRequest r = fixture.request("1", FOUR);
    refused(new SetRequest(r.name(), r.version(), r.descriptor(), r.repository(), null, SigningKey.generate(),
        r.created(), r.lifetime(), r.summaryFile()), ErrorCode.SIGNATURE_INVALID, "is not a release key");

    fixture.release("api", "v9", SetFixture.PLAN, SigningKey.generate());
    refused(fixture.request("1", FOUR.replace("name: api,      version: v2", "name: api,      version: v9")),
        ErrorCode.SIGNATURE_INVALID, "component api v9 in ");
  }
}
