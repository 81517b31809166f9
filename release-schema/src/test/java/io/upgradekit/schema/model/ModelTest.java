package io.upgradekit.schema.model;

import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Fixtures;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelTest {
  @Test
  void treeIsSortedAndItsHashCoversEveryAttribute() {
    PayloadTree tree = Fixtures.tree();
    assertThat(tree.entries()).extracting(TreeEntry::path)
        .containsExactly("bin/app", "lib/app.jar", "lib/current.jar", "logs");

    PayloadTree notExecutable = new PayloadTree(List.of(
        TreeEntry.file("bin/app", 12, Hashes.sha256(new byte[] {1}), false),
        tree.entries().get(1), tree.entries().get(2), tree.entries().get(3)));
    assertThat(notExecutable.treeHash()).isNotEqualTo(tree.treeHash());
    assertThat(new PayloadTree(List.copyOf(tree.entries())).treeHash()).isEqualTo(tree.treeHash());
  }

  @Test
  void treeRefusesDuplicatesAndUnsafePaths() {
    TreeEntry a = TreeEntry.directory("a");
    assertCode(() -> new PayloadTree(List.of(a, a)), ErrorCode.METADATA_MALFORMED);
    for (String bad : List.of("../x", "a/../../x", "/etc/passwd", "a//b", "a\\b", "a/./b", "nul\0", "")) {
      assertCode(() -> TreeEntry.directory(bad), ErrorCode.PAYLOAD_INVALID);
    }
  }

  @Test
  void symlinksMustStayInsideTheTree() {
    assertThat(TreeEntry.symlink("lib/a.jar", "../bin/b").target()).isEqualTo("../bin/b");
    assertCode(() -> TreeEntry.symlink("lib/a.jar", "../../etc/passwd"), ErrorCode.PAYLOAD_INVALID);
    assertCode(() -> TreeEntry.symlink("a", "/etc/passwd"), ErrorCode.PAYLOAD_INVALID);
    assertCode(() -> TreeEntry.symlink("a", ".."), ErrorCode.PAYLOAD_INVALID);
  }

  @Test
  void manifestRefusesATreeHashThatDoesNotMatch() {
    String json = new String(Json.canonicalBytes(Fixtures.manifest("shop", "1.0.0", 1, Fixtures.NEXT_YEAR)),
        StandardCharsets.UTF_8);
    String tampered = json.replace("\"path\":\"logs\"", "\"path\":\"logz\"");
    assertCode(() -> Json.read(tampered.getBytes(StandardCharsets.UTF_8), DocumentType.RELEASE, ReleaseManifest.class),
        ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void rolloutPlanMustBeAnAcyclicGraphOfKnownComponents() {
    RolloutPlan.Component db = new RolloutPlan.Component("database", "1", null);
    RolloutPlan.Component api = new RolloutPlan.Component("api", "1", List.of("database"));
    assertThat(new RolloutPlan(List.of(db, api), RolloutPlan.Strategy.BATCHES, 80, 300L, null).components())
        .hasSize(2);

    RolloutPlan.Component cyclicDb = new RolloutPlan.Component("database", "1", List.of("api"));
    assertCode(() -> new RolloutPlan(List.of(cyclicDb, api), RolloutPlan.Strategy.ALL, null, null, null),
        ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new RolloutPlan(List.of(api), RolloutPlan.Strategy.ALL, null, null, null),
        ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void namesFollowTheirPatterns() {
    assertThat(Names.requireApp("hello-service")).isEqualTo("hello-service");
    assertThat(Names.requireVersion("1.2.3-rc.1+build.5")).isEqualTo("1.2.3-rc.1+build.5");
    for (String bad : List.of("", "..", "a..b", "../x", "a/b", "Upper", ".hidden", "a".repeat(64), "é", "a\0")) {
      assertCode(() -> Names.requireApp(bad), ErrorCode.NAME_INVALID);
    }
    assertCode(() -> Names.requireVersion("1.0/../x"), ErrorCode.NAME_INVALID);
    assertCode(() -> Names.requireApp(null), ErrorCode.NAME_INVALID);
  }

  @Test
  void trustRootChecksKeyIdsAndRoles() {
    TrustRoot root = Fixtures.root(1, Fixtures.NEXT_YEAR, List.of(io.upgradekit.schema.sign.SigningKey.generate()), 1,
        List.of(io.upgradekit.schema.sign.SigningKey.generate()), 1);
    String json = new String(Json.canonicalBytes(root), StandardCharsets.UTF_8);
    String firstId = root.keys().keySet().iterator().next();
    String wrongId = json.replace(firstId, "0".repeat(64));
    assertCode(() -> Json.read(wrongId.getBytes(StandardCharsets.UTF_8), DocumentType.ROOT, TrustRoot.class),
        ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new RoleKeys(List.of("a"), 2), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new RoleKeys(List.of("a", "a"), 1), ErrorCode.METADATA_MALFORMED);
  }
}
