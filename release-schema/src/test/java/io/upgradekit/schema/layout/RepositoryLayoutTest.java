package io.upgradekit.schema.layout;

import io.upgradekit.schema.model.Names;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryLayoutTest {
  private static final String HASH =
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

  @Test
  void trustRoots() {
    assertThat(RepositoryLayout.trustRoot()).isEqualTo("root.json");
    assertThat(RepositoryLayout.trustRoot(1)).isEqualTo("roots/1.root.json");
    assertThat(RepositoryLayout.trustRoot(42)).isEqualTo("roots/42.root.json");
    assertNameInvalid(() -> RepositoryLayout.trustRoot(0), "trust root version 0");
    assertNameInvalid(() -> RepositoryLayout.trustRoot(-1), "trust root version -1");
  }

  @Test
  void blobsFanOutByTheirHashesFirstTwoDigits() {
    assertThat(RepositoryLayout.blob(HASH)).isEqualTo("blobs/sha256/9f/" + HASH);
  }

  @Test
  void appDocuments() {
    assertThat(RepositoryLayout.releaseManifest("billing-api", "1.4.0-RC1"))
        .isEqualTo("apps/billing-api/releases/1.4.0-RC1/release.json");
    assertThat(RepositoryLayout.channelPointer("billing-api", "stable"))
        .isEqualTo("apps/billing-api/channels/stable.json");
    assertThat(RepositoryLayout.rolloutState("billing-api", "2.0+build.7"))
        .isEqualTo("apps/billing-api/rollout/2.0+build.7.json");
  }

  @Test
  void releaseSets() {
    assertThat(RepositoryLayout.releaseSet("shop", "2026.11-RC1")).isEqualTo("sets/shop/2026.11-RC1.json");
    assertThat(RepositoryLayout.releaseSets("shop")).isEqualTo("sets/shop/");
    assertThat(RepositoryLayout.releaseSet("shop", "1")).startsWith(RepositoryLayout.releaseSets("shop"));
    assertNameInvalid(() -> RepositoryLayout.releaseSet("Shop", "1"), "set name 'Shop'");
    assertNameInvalid(() -> RepositoryLayout.releaseSet("../x", "1"), "set name");
    assertNameInvalid(() -> RepositoryLayout.releaseSet("shop", "1/2"), "version");
  }

  @Test
  void releaseSetStatesAndDecisions() {
    assertThat(RepositoryLayout.setState("shop", "2026.1")).isEqualTo("sets/shop/rollout/2026.1.json");
    assertThat(RepositoryLayout.kindOf("sets/shop/rollout/2026.1.json")).isEqualTo(PathKind.SET_STATE);
    assertThat(RepositoryLayout.kindOf("sets/shop/2026.1.json")).isEqualTo(PathKind.RELEASE_SET);
    assertThat(RepositoryLayout.kindOf("sets/shop/other/2026.1.json")).isEqualTo(PathKind.OTHER);
    assertThat(RepositoryLayout.setDecision("shop", "2026.1", 3))
        .isEqualTo("set-rollouts/shop/2026.1/decisions/3.json")
        .startsWith(RepositoryLayout.setDecisions("shop", "2026.1"));
    assertThat(RepositoryLayout.kindOf("set-rollouts/shop/2026.1/decisions/3.json")).isEqualTo(PathKind.SET_DECISION);
    assertThat(RepositoryLayout.kindOf("set-rollouts/shop/2026.1/decisions/0.json")).isEqualTo(PathKind.OTHER);
    assertThat(RepositoryLayout.isImmutable("sets/shop/rollout/2026.1.json")).isFalse();
    assertNameInvalid(() -> RepositoryLayout.setDecision("shop", "2026.1", 0), "set decision sequence 0");
    assertNameInvalid(() -> RepositoryLayout.setState("../x", "1"), "set name");
  }

  @Test
  void theSwapBookkeepingIsHiddenBesideItsDocument() {
    String pointer = RepositoryLayout.channelPointer("app", "stable");
    assertThat(RepositoryLayout.sequenceClaims(pointer)).isEqualTo("apps/app/channels/.stable.sequence");
    assertThat(RepositoryLayout.sequenceClaim(pointer, 7, 1)).isEqualTo("apps/app/channels/.stable.sequence/7");
    assertThat(RepositoryLayout.sequenceClaim(pointer, 7, 3)).isEqualTo("apps/app/channels/.stable.sequence/7.3");
    assertThat(RepositoryLayout.swapLock(pointer)).isEqualTo("apps/app/channels/.stable.json.lock");
    assertThat(RepositoryLayout.sequenceClaims(RepositoryLayout.trustRoot())).isEqualTo(".root.sequence");
    assertThat(RepositoryLayout.swapLock("stable.json")).isEqualTo(".stable.json.lock");
    for (String path : List.of(RepositoryLayout.sequenceClaim(pointer, 7, 3), RepositoryLayout.swapLock(pointer),
        RepositoryLayout.sequenceClaims(RepositoryLayout.trustRoot()))) {
      assertThat(RepositoryLayout.isHidden(path)).as(path).isTrue();
      assertThat(RepositoryLayout.kindOf(path)).as(path).isEqualTo(PathKind.OTHER);
    }
    assertThat(RepositoryLayout.allFeedback()).isEqualTo("feedback/");
    assertThat(RepositoryLayout.feedback("app", "n1", "e1", 0)).startsWith(RepositoryLayout.allFeedback());
  }

  @Test
  void claims() {
    assertThat(RepositoryLayout.claimDirectory("app", "1.0", "wave-1"))
        .isEqualTo("claims/app/1.0/wave-1");
    assertThat(RepositoryLayout.claimSlot("app", "1.0", "wave-1", 0))
        .isEqualTo("claims/app/1.0/wave-1/slot-0.json");
    assertThat(RepositoryLayout.claimSlot("app", "1.0", "wave-1", Integer.MAX_VALUE))
        .isEqualTo("claims/app/1.0/wave-1/slot-2147483647.json");
    assertThat(RepositoryLayout.claimIndex("app", "1.0", "wave-1", "web-07.dc1"))
        .isEqualTo("claims/app/1.0/wave-1/node-web-07.dc1.json");
    assertNameInvalid(() -> RepositoryLayout.claimSlot("app", "1.0", "wave-1", -1), "slot -1");
  }

  @Test
  void rolloutDecisionsLeasesAndInventory() {
    assertThat(RepositoryLayout.rolloutDecisions("shop", "2.0")).isEqualTo("rollouts/shop/2.0/decisions/");
    assertThat(RepositoryLayout.rolloutDecision("shop", "2.0", 1)).isEqualTo("rollouts/shop/2.0/decisions/1.json");
    assertThat(RepositoryLayout.rolloutDecision("shop", "2.0", 42))
        .startsWith(RepositoryLayout.rolloutDecisions("shop", "2.0")).startsWith(RepositoryLayout.allRollouts());
    assertNameInvalid(() -> RepositoryLayout.rolloutDecision("shop", "2.0", 0), "decision sequence 0");
    assertThat(RepositoryLayout.leaseSlot("shop", "2.0", "upgrade", 3)).isEqualTo("rollouts/shop/2.0/leases/upgrade/slot-3/");
    assertThat(RepositoryLayout.lease("shop", "2.0", "recall", 0, 7))
        .isEqualTo("rollouts/shop/2.0/leases/recall/slot-0/7.json");
    assertThat(RepositoryLayout.leaseConfirmed("shop", "2.0", "upgrade", 1, 2))
        .isEqualTo("rollouts/shop/2.0/leases/upgrade/slot-1/2.confirmed.json");
    assertThat(RepositoryLayout.leaseReleased("shop", "2.0", "upgrade", 1, 2))
        .isEqualTo("rollouts/shop/2.0/leases/upgrade/slot-1/2.released.json");
    assertNameInvalid(() -> RepositoryLayout.lease("shop", "2.0", "upgrade", -1, 1), "slot -1");
    assertNameInvalid(() -> RepositoryLayout.lease("shop", "2.0", "upgrade", 0, 0), "lease generation 0");
    assertNameInvalid(() -> RepositoryLayout.lease("shop", "2.0", "../x", 0, 1), "lease kind");
    assertNameInvalid(() -> RepositoryLayout.lease("shop", "2.0", null, 0, 1), "lease kind");
    assertThat(RepositoryLayout.inventorySnapshot("web-1-8080")).isEqualTo("fleet/inventory/web-1-8080.json")
        .startsWith(RepositoryLayout.inventorySnapshots());
    assertNameInvalid(() -> RepositoryLayout.inventorySnapshot("../x"), "server instance");
    assertNameInvalid(() -> RepositoryLayout.inventorySnapshot(null), "server instance");
  }

  @Test
  void feedback() {
    assertThat(RepositoryLayout.feedbackDirectory("app", "web-07", "01J9ZQ4K7T_x-1"))
        .isEqualTo("feedback/app/web-07/01J9ZQ4K7T_x-1");
    assertThat(RepositoryLayout.feedback("app", "web-07", "01J9ZQ4K7T_x-1", 0))
        .isEqualTo("feedback/app/web-07/01J9ZQ4K7T_x-1/0.json");
    assertThat(RepositoryLayout.feedback("app", "web-07", "e", Long.MAX_VALUE))
        .isEqualTo("feedback/app/web-07/e/9223372036854775807.json");
    assertNameInvalid(() -> RepositoryLayout.feedback("app", "n", "e", -1), "feedback sequence -1");
  }

  /** Names that no field accepts: traversal, separators, encodings, control, case, length. */
  static Stream<String> badForEveryField() {
    return Stream.of(
        "../x",
        "..",
        ".",
        "a/b",
        "a\\b",
        "/abs",
        "%2e%2e",
        "a%2fb",
        "a\0b",
        "a\nb",
        "a\tb",
        "a b",
        " a",
        "a".repeat(300),
        ".hidden",
        "",
        "café",
        "ａpp", // fullwidth letter
        "a:b",
        "a*b",
        "a..b",
        "-leading-dash",
        "_leading",
        "a\u202eb"); // right-to-left override
  }

  static Stream<Arguments> fields() {
    return Stream.of(
        field("app", n -> RepositoryLayout.channelPointer(n, "stable")),
        field("channel", n -> RepositoryLayout.channelPointer("app", n)),
        field("version", n -> RepositoryLayout.releaseManifest("app", n)),
        field("version", n -> RepositoryLayout.rolloutState("app", n)),
        field("scope", n -> RepositoryLayout.claimSlot("app", "1", n, 0)),
        field("node id", n -> RepositoryLayout.claimIndex("app", "1", "s", n)),
        field("node id", n -> RepositoryLayout.feedback("app", n, "e", 0)),
        field("event id", n -> RepositoryLayout.feedback("app", "n", n, 0)),
        field("blob hash", RepositoryLayout::blob),
        field("app", n -> RepositoryLayout.rolloutDecision(n, "1", 1)),
        field("version", n -> RepositoryLayout.lease("app", n, "upgrade", 0, 1)));
  }

  static Stream<Arguments> badNamesForEachField() {
    return fields()
        .flatMap(f -> badForEveryField().map(bad -> Arguments.of(f.get()[0], f.get()[1], bad)));
  }

  private static Arguments field(String name, Function<String, String> build) {
    return Arguments.of(name, build);
  }

  @ParameterizedTest(name = "{0} {2}")
  @MethodSource("badNamesForEachField")
  void badNamesAreRefusedWithTheFieldNamed(String field, Function<String, String> build, String bad) {
    assertNameInvalid(() -> build.apply(bad), field);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fields")
  void missingNamesAreRefused(String field, Function<String, String> build) {
    assertNameInvalid(() -> build.apply(null), field + " is missing");
  }

  @ParameterizedTest
  @ValueSource(strings = {"Billing", "APP", "stablE"})
  void lowercaseNamesRefuseUppercase(String bad) {
    assertNameInvalid(() -> Names.requireApp(bad), "app");
    assertNameInvalid(() -> Names.requireChannel(bad), "channel");
    assertNameInvalid(() -> Names.requireScope(bad), "scope");
    assertNameInvalid(() -> Names.requireNodeId(bad), "node id");
  }

  @Test
  void namesMayEndWithAPunctuationCharacter() {
    // The patterns only constrain the first character; "app." is a valid, if odd, name.
    assertThat(Names.isLowercaseName("app.")).isTrue();
    assertThat(Names.isLowercaseName("a-")).isTrue();
    assertThat(Names.isVersion("1.0-")).isTrue();
  }

  @Test
  void lengthLimitsAreExact() {
    assertThat(Names.isLowercaseName("a".repeat(63))).isTrue();
    assertThat(Names.isLowercaseName("a".repeat(64))).isFalse();
    assertThat(Names.isVersion("1".repeat(63))).isTrue();
    assertThat(Names.isVersion("1".repeat(64))).isFalse();
    assertThat(Names.isEventId("e".repeat(64))).isTrue();
    assertThat(Names.isEventId("e".repeat(65))).isFalse();
  }

  @Test
  void versionsAllowWhatMavenAndSemverUse() {
    assertThat(Names.isVersion("1.4.0-RC1")).isTrue();
    assertThat(Names.isVersion("2.0.0+build.7")).isTrue();
    assertThat(Names.isVersion("3.9.16_hotfix")).isTrue();
    assertThat(Names.isVersion("1..2")).isFalse();
    assertThat(Names.isVersion("+1")).isFalse();
    assertThat(Names.isEventId("a.b")).as("event ids have no dots").isFalse();
  }

  @Test
  void blobHashesAreLowercaseHexOfExactLength() {
    assertNameInvalid(() -> RepositoryLayout.blob(HASH.toUpperCase()), "blob hash");
    assertNameInvalid(() -> RepositoryLayout.blob(HASH.substring(1)), "blob hash");
    assertNameInvalid(() -> RepositoryLayout.blob(HASH + "0"), "blob hash");
    assertNameInvalid(() -> RepositoryLayout.blob("g" + HASH.substring(1)), "blob hash");
  }

  @Test
  void errorMessagesNameTheFieldAndThePatternAndQuoteSafely() {
    assertThatThrownBy(() -> Names.requireApp("Bad\0\n" + "x".repeat(200)))
        .isInstanceOf(UpgradeException.class)
        .hasMessageStartingWith("app 'Bad\\u0000\\u000axxx")
        .hasMessageContaining("(cut; 205 characters)")
        .hasMessageContaining("must match " + Names.LOWERCASE_NAME_PATTERN)
        .hasMessageNotContaining("\n")
        .hasMessageNotContaining("\0");
  }

  @Test
  void resolveStaysBelowTheRoot(@TempDir Path root) {
    String manifest = RepositoryLayout.releaseManifest("app", "1.0");

    Path resolved = RepositoryLayout.resolve(root, manifest);

    assertThat(resolved)
        .isEqualTo(root.toAbsolutePath().resolve("apps/app/releases/1.0/release.json"))
        .startsWithRaw(root.toAbsolutePath());
    assertThat(RepositoryLayout.resolve(Path.of("relative/repo"), "root.json"))
        .isEqualTo(Path.of("relative/repo/root.json").toAbsolutePath());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "..",
        "../x",
        "a/../../x",
        "a/../b",
        "./a",
        "a/./b",
        "a//b",
        "a/",
        "/etc/passwd",
        "a\\..\\..\\x",
        "a\0b",
        "a\nb"
      })
  void resolveRefusesAnythingThatCouldEscape(String bad) {
    Path root = Path.of("/srv/repo");
    assertNameInvalid(() -> RepositoryLayout.resolve(root, bad), "repository path");
  }

  @Test
  void resolveRefusesNull() {
    assertNameInvalid(() -> RepositoryLayout.resolve(Path.of("/srv/repo"), null), "repository path");
  }

  static Stream<Arguments> kinds() {
    return Stream.of(
        Arguments.of(RepositoryLayout.trustRoot(), PathKind.TRUST_ROOT, false),
        Arguments.of(RepositoryLayout.trustRoot(3), PathKind.TRUST_ROOT, true),
        Arguments.of(RepositoryLayout.blob(HASH), PathKind.BLOB, true),
        Arguments.of(
            RepositoryLayout.releaseManifest("app", "1.0.json"), PathKind.RELEASE_MANIFEST, true),
        Arguments.of(RepositoryLayout.channelPointer("app", "stable"), PathKind.CHANNEL_POINTER, false),
        Arguments.of(RepositoryLayout.releaseSet("shop", "2.0"), PathKind.RELEASE_SET, true),
        Arguments.of(RepositoryLayout.rolloutState("app", "1.0"), PathKind.ROLLOUT_STATE, false),
        Arguments.of(RepositoryLayout.claimSlot("app", "1.0", "all", 12), PathKind.CLAIM, false),
        Arguments.of(RepositoryLayout.claimIndex("app", "1.0", "all", "n1"), PathKind.CLAIM, false),
        Arguments.of(RepositoryLayout.feedback("app", "n1", "ev", 3), PathKind.FEEDBACK, false),
        Arguments.of(RepositoryLayout.rolloutDecision("app", "1.0", 3), PathKind.DECISION, false),
        Arguments.of(RepositoryLayout.lease("app", "1.0", "upgrade", 2, 5), PathKind.LEASE, false),
        Arguments.of(RepositoryLayout.leaseConfirmed("app", "1.0", "recall", 0, 1), PathKind.LEASE, false),
        Arguments.of(RepositoryLayout.leaseReleased("app", "1.0", "upgrade", 0, 9), PathKind.LEASE, false),
        Arguments.of(RepositoryLayout.inventorySnapshot("srv-1"), PathKind.INVENTORY, false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void kindOfRecognisesEveryBuiltPath(String path, PathKind kind, boolean immutable) {
    assertThat(RepositoryLayout.kindOf(path)).isEqualTo(kind);
    assertThat(RepositoryLayout.isImmutable(path)).isEqualTo(immutable);
    assertThat(RepositoryLayout.isHidden(path)).isFalse();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "/root.json",
        "root.json/",
        "index.html",
        "ui/app.js",
        "roots/0.root.json",
        "roots/01.root.json",
        "roots/x.root.json",
        "roots/99999999999999999999.root.json",
        "blobs/sha256/00/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "blobs/sha256/9f/9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "blobs/sha256/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "blobs/md5/9f/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "apps/App/channels/stable.json",
        "apps/app/channels/stable",
        "apps/app/channels/.stable.json.0123456789abcdef.tmp",
        "apps/app/channels/x/stable.json",
        "apps/app/releases/1.0/other.json",
        "apps/app/releases/../release.json",
        "apps/app/rollout/1..0.json",
        "apps/app",
        "claims/app/1.0/all/slot--1.json",
        "claims/app/1.0/all/slot-01.json",
        "claims/app/1.0/all/slot-2147483648.json",
        "claims/app/1.0/all/node-N1.json",
        "claims/app/1.0/all/other-1.json",
        "claims/app/1.0/all",
        "feedback/app/n1/ev/-1.json",
        "feedback/app/n1/e.v/1.json",
        "feedback/app/n1/ev/1.json/x",
        "rollouts/app/1.0/decisions/0.json",
        "rollouts/app/1.0/decisions/01.json",
        "rollouts/app/1.0/decisions/x.json",
        "rollouts/app/1.0/leases/other/slot-0/1.json",
        "rollouts/app/1.0/leases/upgrade/slot-0/0.json",
        "rollouts/app/1.0/leases/upgrade/slot-0/1.other.json",
        "rollouts/app/1.0/leases/upgrade/slot-x/1.json",
        "rollouts/App/1.0/decisions/1.json",
        "fleet/inventory/Srv.json",
        "sets/shop/2.0",
        "sets/Shop/2.0.json",
        "sets/shop/1..0.json",
        "sets/shop/releases/2.0.json",
        "sets/shop.json",
        "fleet/other/srv.json"
      })
  void kindOfCallsEverythingElseOther(String path) {
    assertThat(RepositoryLayout.kindOf(path)).isEqualTo(PathKind.OTHER);
    assertThat(RepositoryLayout.isImmutable(path)).isFalse();
  }

  @Test
  void kindOfToleratesNull() {
    assertThat(RepositoryLayout.kindOf(null)).isEqualTo(PathKind.OTHER);
  }

  @Test
  void hiddenPaths() {
    assertThat(RepositoryLayout.isHidden(".git/config")).isTrue();
    assertThat(RepositoryLayout.isHidden("apps/app/channels/.stable.json.0123456789abcdef.tmp"))
        .isTrue();
    assertThat(RepositoryLayout.isHidden("apps\\.hidden\\x")).isTrue();
    assertThat(RepositoryLayout.isHidden("a/../b")).isTrue();
    assertThat(RepositoryLayout.isHidden("apps/app/releases/1.0/release.json")).isFalse();
    assertThat(RepositoryLayout.isHidden("a.b/c.d")).isFalse();
  }

  private static void assertNameInvalid(ThrowingCallable call, String messageStart) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            UpgradeException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID))
        .hasMessageStartingWith(messageStart);
  }
}
