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

  @Test
  void feedbackNotesAreOptionalBoundedAndSkippedByReadersThatDoNotKnowThem() {
    java.time.Instant at = java.time.Instant.parse("2026-01-02T03:04:05Z");
    List<StepReport> steps = List.of(new StepReport("GATE", at, 5, "OK", null, null));
    Feedback without = new Feedback("feedback", "evt-1", 1, "node-1", "shop", null, "1.0.0", "END", "COMMITTED",
        steps, null, null, null, at);
    assertThat(without.notes()).isNull();
    assertThat(new String(Json.canonicalBytes(without), StandardCharsets.UTF_8)).doesNotContain("notes");

    EventNote waiting = new EventNote(at, "GATE", "INFO", "waiting at the rollout gate (paused)");
    Feedback with = new Feedback("feedback", "evt-1", 1, "node-1", "shop", null, "1.0.0", "END", "COMMITTED",
        steps, null, null, null, at, List.of(waiting));
    byte[] json = Json.canonicalBytes(with);
    assertThat(Json.read(json, DocumentType.FEEDBACK, Feedback.class)).isEqualTo(with);
    assertThat(Json.read(json, DocumentType.FEEDBACK, Feedback.class).notes()).containsExactly(waiting);

    // A reader that does not know notes (an older server) reads the rest of the report.
    record OldFeedback(String type, String eventId, long sequence, String outcome, List<StepReport> steps) {}
    assertThat(Json.read(json, OldFeedback.class, "feedback").outcome()).isEqualTo("COMMITTED");

    List<EventNote> tooMany = java.util.Collections.nCopies(Feedback.MAX_NOTES + 1, waiting);
    assertCode(() -> new Feedback("feedback", "evt-1", 1, "node-1", "shop", null, "1.0.0", "END", "COMMITTED", steps,
        null, null, null, at, tooMany), ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new EventNote(at, "GATE", "INFO", "x".repeat(EventNote.MAX_MESSAGE_LENGTH + 1)),
        ErrorCode.METADATA_MALFORMED);
    assertCode(() -> new EventNote(at, "gate", "INFO", "lower-case state"), ErrorCode.NAME_INVALID);
    assertCode(() -> new EventNote(at, "GATE", "INFO", null), ErrorCode.METADATA_MALFORMED);
  }
}
