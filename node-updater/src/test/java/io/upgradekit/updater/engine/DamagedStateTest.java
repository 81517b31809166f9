package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.journal.Quarantine;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Damaged state never stops the updater: every state file it reads, damaged in every way, is moved
 * aside (bounded), rebuilt from the file system, reported as STATE_RECOVERED, and the run goes on.
 */
@Timeout(120)
class DamagedStateTest {
  private static final String HEALTHY = "healthy=true\n";

  /** How a file can be damaged. */
  enum Damage { TRUNCATED, GARBAGE, WRONG_TYPES, EMPTY, DIRECTORY, JSON_NULL }

  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stop() {
    if (target != null) {
      target.close();
    }
  }

  private Release installV1(String strategy) throws IOException {
    target = new TestTarget(tmp, strategy, null);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    target.server.reports.clear();
    return v1;
  }

  private void publishV2() {
    target.repo.point("stable", target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0"));
  }

  static Stream<Arguments> coreFiles() {
    return Stream.of("journal.json", "node.json", "service.json").flatMap(f -> Stream.of(Damage.values())
        .map(d -> Arguments.of(f, d)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("coreFiles")
  void aDamagedCoreStateFileIsMovedAsideRebuiltReportedAndTheRunGoesOn(String name, Damage damage) throws Exception {
    installV1("restart");
    Path file = target.homeDirs().state().resolve(name);
    byte[] valid = name.equals("journal.json") ? Files.readAllBytes(historyFiles().get(0)) : Files.readAllBytes(file);
    damageFile(file, damage, valid);
    publishV2();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.serviceProcesses()).as("exactly one version runs").hasSize(1);
    assertRecovered(name);
    // Not a loop: the next run finds nothing to recover.
    int events = target.engine().journal().history().size();
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(target.engine().journal().history()).hasSize(events);
  }

  @Test
  void otherStateFilesAndDirectoriesReplacedByTheWrongKindOfFile() throws Exception {
    installV1("restart");
    Path state = target.homeDirs().state();
    Files.writeString(state.resolve("self-previous"), "../../etc\n");
    for (String dir : List.of("releases", "trust", "outbox")) {
      Path p = state.resolve(dir);
      io.upgradekit.schema.io.FileTrees.deleteRecursively(p);
      Files.writeString(p, "not a directory");
    }
    io.upgradekit.schema.io.FileTrees.deleteRecursively(target.homeDirs().staging());
    Files.writeString(target.homeDirs().staging(), "not a directory");
    Files.delete(target.homeDirs().lockFile());
    Files.createDirectories(target.homeDirs().lockFile().resolve("inside"));
    publishV2();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    JournalRecord recovery = recoveryEvents().get(0);
    assertThat(recovery.message()).contains("self-previous", "releases is not a directory",
        "trust is not a directory", "outbox is not a directory", "staging is not a directory");
    assertThat(state.resolve("self-previous")).doesNotExist();
    assertThat(target.server.reports.values()).anyMatch(b -> b.contains("STATE_RECOVERED"));
  }

  @Test
  void theRebuiltNodeStateKeepsThePreviousVersionAndTheReleasesThatFailed() throws Exception {
    installV1("restart");
    publishV2();
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    Files.writeString(target.configFile, Files.readString(target.configFile).replace("attempts: 150",
        TestTarget.FEW_HEALTH_ATTEMPTS));
    target.repo.point("stable", target.repo.publish("3.0.0", 3, TestTarget.files("3.0.0", "healthy=false\n"),
        "2.0.0"));
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.ROLLED_BACK);
    long sequence = NodeState.read(target.homeDirs().nodeFile()).lastPointerSequence();
    Files.writeString(target.homeDirs().nodeFile(), "{\"previous\": \"1.0.0\", \"lastPointerSeq");

    Result r = target.engine().runOnce(false);

    // 3.0.0 failed here before: the rebuilt state still says so, and the node does not retry it.
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.UP_TO_DATE);
    NodeState rebuilt = NodeState.read(target.homeDirs().nodeFile());
    assertThat(rebuilt.previous()).isEqualTo("1.0.0");
    assertThat(rebuilt.badReleases()).containsExactly("3.0.0");
    assertThat(rebuilt.lastPointerSequence()).isEqualTo(sequence);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertRecovered("node.json");
  }

  @Test
  void aJournalLostAfterACrashMidSwitchLeavesExactlyTheVersionCurrentNamesRunning() throws Exception {
    installV1("overlap");
    publishV2();
    // Halted right after journaling START: current names 2.0.0, the old 1.0.0 process still serves.
    assertThat(target.runUpdater("START", "run", "--once")).isEqualTo(
        io.upgradekit.updater.testsupport.TestUpdaterMain.HALTED);
    assertThat(target.homeDirs().currentVersion()).contains("2.0.0");
    Files.write(target.homeDirs().journal(), new byte[] {0x7b, 0x22, 0x65, 0x76, (byte) 0xff, 0x00});

    assertThat(target.runUpdater(null, "run", "--once")).as(target.updaterLog()).isZero();

    assertThat(target.homeDirs().currentVersion()).contains("2.0.0");
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.serviceProcesses()).as("exactly one version runs").hasSize(1);
    assertThat(target.homeDirs().staging()).isEmptyDirectory();
    assertThat(target.updaterLog()).contains("STATE_RECOVERED");
    assertRecovered("journal.json");
  }

  @Test
  void aLostServiceRecordIsRebuiltFromTheRunningProcessesSoTheOldOneIsStoppedOnUpdate() throws Exception {
    installV1("restart");
    long pid = target.serviceProcesses().get(0).pid();
    Files.writeString(target.homeDirs().serviceFile(), "{\"command\": 42}");
    publishV2();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.serviceProcesses()).hasSize(1).noneMatch(p -> p.pid() == pid);
    assertThat(recoveryEvents().get(0).message()).contains("rebuilt from the running processes", pid + " (1.0.0)");
  }

  @Test
  void damagedCachedMetadataAndKeptManifestAreDroppedAndTheUpdateResolvesAfresh() throws Exception {
    installV1("restart");
    publishV2();
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    Files.writeString(target.homeDirs().trust().resolve("channel.json"), "{\"payload\": \"garbage\"}");
    Files.writeString(target.homeDirs().releases().resolve("2.0.0.json"), "{\"trunc");
    Release v3 = target.repo.publish("3.0.0", 3, TestTarget.files("3.0.0", HEALTHY), "2.0.0");
    target.server.blobPaths.clear();
    target.repo.point("stable", v3);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("3.0.0");
    JournalRecord event = lastEvent();
    assertThat(event.steps().get(1).state()).isEqualTo("RESOLVE");
    assertThat(event.steps().get(1).errorCode()).isEqualTo("STATE_RECOVERED");
    assertThat(event.steps().get(1).message()).contains("releases/2.0.0.json");
    // Without its kept manifest the installed tree is unknown: the full package, not the delta.
    assertThat(target.server.blobPaths).singleElement().asString().endsWith(v3.manifest().packageBlob().sha256());
  }

  @Test
  void aDamagedCachedPointerAnswered304IsFetchedAfresh() throws Exception {
    installV1("restart");
    Files.writeString(target.homeDirs().trust().resolve("channel.json"), "garbage");
    int notModified = target.server.notModified.get();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(target.server.notModified.get()).isGreaterThan(notModified); // the damaged copy was used first
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
  }

  @Test
  void damagedHistoryAndOutboxEntriesNeverBlockAnything() throws Exception {
    installV1("restart");
    Files.writeString(target.homeDirs().history().resolve("00000000000000000001-broken.json"), "{\"eventId\":");
    Files.createDirectories(target.homeDirs().outbox().resolve("aaaa-1.json"));
    Files.writeString(target.homeDirs().outbox().resolve("bbbb-1.json"), "[1, 2");
    publishV2();

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.engine().outbox().pending()).isEmpty();
    assertThat(target.server.reports).hasSize(1);
    assertThat(new Quarantine(target.homeDirs().state()).entries()).extracting(p -> p.getFileName().toString())
        .anyMatch(n -> n.endsWith("aaaa-1.json")).anyMatch(n -> n.endsWith("bbbb-1.json"));
    List<String> notes = new java.util.ArrayList<>();
    assertThat(target.engine().journal().history(notes::add)).hasSize(2);
    assertThat(notes).singleElement().asString().contains("broken.json");
    TargetStatus status = TargetStatus.read(target.config());
    assertThat(status.lastEvent().toVersion()).isEqualTo("2.0.0");
    assertThat(status.damaged()).singleElement().asString().contains("broken.json");
  }

  @Test
  void statusNamesADamagedFileInsteadOfFailing() throws Exception {
    installV1("restart");
    Files.writeString(target.homeDirs().nodeFile(), "{\"previous\": 7}");
    Files.writeString(target.homeDirs().journal(), "");

    TargetStatus status = TargetStatus.read(target.config());

    assertThat(status.current()).isEqualTo("1.0.0");
    assertThat(status.damaged()).hasSize(2).anyMatch(d -> d.contains("node.json")).anyMatch(d -> d.contains(
        "journal.json"));
  }

  @Test
  void theQuarantineIsBounded() throws Exception {
    installV1("restart");
    for (int i = 0; i < Quarantine.MAX_KEPT + 5; i++) {
      Files.writeString(target.homeDirs().nodeFile(), "garbage " + i);
      assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
    }
    List<Path> kept = new Quarantine(target.homeDirs().state()).entries();
    assertThat(kept).hasSize(Quarantine.MAX_KEPT);
    assertThat(Files.readString(kept.get(kept.size() - 1))).isEqualTo("garbage " + (Quarantine.MAX_KEPT + 4));
  }

  // ---------------------------------------------------------------- helpers

  private void assertRecovered(String name) throws IOException {
    List<JournalRecord> recoveries = recoveryEvents();
    assertThat(recoveries).as("one recovery event in history").hasSize(1);
    JournalRecord event = recoveries.get(0);
    assertThat(event.outcome()).isEqualTo(Outcome.RECOVERED);
    assertThat(event.errorCode()).isEqualTo(ErrorCode.STATE_RECOVERED.name());
    assertThat(event.message()).contains(name);
    Feedback report = target.server.reports.values().stream()
        .map(b -> Json.read(b.getBytes(StandardCharsets.UTF_8), Feedback.class, "feedback"))
        .filter(f -> f.eventId().equals(event.eventId())).findFirst().orElseThrow();
    assertThat(report.errorCode()).isEqualTo("STATE_RECOVERED");
    assertThat(report.message()).contains(name);
    // What was found is a warning of the recovery event, in history and in the report.
    assertThat(event.notes()).anySatisfy(n -> {
      assertThat(n.level()).isEqualTo("WARNING");
      assertThat(n.message()).startsWith("STATE_RECOVERED: ").contains(name);
    });
    assertThat(report.notes()).extracting(io.upgradekit.schema.model.EventNote::message)
        .anyMatch(m -> m.startsWith("STATE_RECOVERED: ") && m.contains(name));
    assertThat(new Quarantine(target.homeDirs().state()).entries()).extracting(p -> p.getFileName().toString())
        .anyMatch(n -> n.endsWith("-" + name));
  }

  private List<JournalRecord> recoveryEvents() {
    return target.engine().journal().history().stream().filter(e -> e.kind() == EventKind.RECOVERY).toList();
  }

  private JournalRecord lastEvent() {
    List<JournalRecord> history = target.engine().journal().history();
    return history.get(history.size() - 1);
  }

  private List<Path> historyFiles() throws IOException {
    try (Stream<Path> files = Files.list(target.homeDirs().history())) {
      return files.sorted().toList();
    }
  }

  static void damageFile(Path file, Damage damage, byte[] valid) throws IOException {
    Files.deleteIfExists(file);
    switch (damage) {
      case TRUNCATED -> Files.write(file, java.util.Arrays.copyOf(valid, valid.length / 2));
      case GARBAGE -> {
        byte[] junk = new byte[300];
        new java.util.Random(42).nextBytes(junk);
        Files.write(file, junk);
      }
      case WRONG_TYPES -> {
        ObjectNode tree = (ObjectNode) new ObjectMapper().readTree(valid);
        for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = tree.fields(); it.hasNext(); ) {
          Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e = it.next();
          if (e.getValue().isTextual()) {
            e.setValue(tree.numberNode(42));
          } else if (!e.getValue().isNull()) {
            e.setValue(tree.textNode("x"));
          }
        }
        Files.write(file, new ObjectMapper().writeValueAsBytes(tree));
      }
      case EMPTY -> Files.write(file, new byte[0]);
      case DIRECTORY -> Files.createDirectories(file.resolve("inside"));
      case JSON_NULL -> Files.writeString(file, "null");
    }
  }
}
