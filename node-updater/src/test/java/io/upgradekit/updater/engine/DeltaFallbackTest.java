package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.delta.DeltaBuilder;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestTarget;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A delta listed for the installed tree that turns out not to apply: the node falls back to the
 * same signed release's full package in the same run, reports both steps, and remembers the delta.
 * Real delta engine, real repository over HTTP.
 */
@Timeout(120)
class DeltaFallbackTest {
  private static final String HEALTHY = "healthy=true\n";

  @TempDir
  Path tmp;

  private TestTarget target;
  private UpdateEngine engine;
  private final List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();

  @AfterEach
  void stop() {
    if (target != null) {
      target.close();
    }
  }

  private Path tree(String name, Map<String, byte[]> files) throws Exception {
    Path dir = tmp.resolve("src").resolve(name);
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Path f = dir.resolve(e.getKey());
      Files.createDirectories(f.getParent());
      Files.write(f, e.getValue());
    }
    return dir;
  }

  private byte[] build(Path from, Path to, String name) throws Exception {
    Path out = tmp.resolve("built").resolve(name);
    Files.createDirectories(out.getParent());
    DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(from, to, out));
    return Files.readAllBytes(out);
  }

  /** Installs 1.0.0 from its full package, then publishes 2.0.0 with {@code delta} listed as "from 1.0.0". */
  private TestRepo.Release install1ThenPublish2(String extraYaml, DeltaMaker delta) throws Exception {
    target = new TestTarget(tmp.resolve("t"), "restart", extraYaml);
    Path v1 = tree("1", TestTarget.files("1.0.0", HEALTHY));
    Path v2 = tree("2", TestTarget.files("2.0.0", HEALTHY));
    Path pkg1 = tmp.resolve("pkg1");
    var r1 = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, v1, pkg1));
    TestRepo.Release rel1 = target.repo.publishBuilt("1.0.0", 1, r1.target(), Files.readAllBytes(pkg1), Map.of());
    target.repo.point("stable", rel1);
    engine = new UpdateEngine(target.config(), new DeltaEngineApplier(2), Clock.systemUTC(),
        TestTarget.notes(log::add));
    UpdateEngine.Result first = engine.runOnce(false);
    assertThat(first.outcome()).as(first.message()).isEqualTo(Outcome.COMMITTED);

    Path pkg2 = tmp.resolve("pkg2");
    var r2 = DeltaBuilder.diff(DeltaBuilder.DiffRequest.of(null, v2, pkg2));
    TestRepo.Release rel2 = target.repo.publishBuilt("2.0.0", 2, r2.target(), Files.readAllBytes(pkg2),
        Map.of("1.0.0", delta.make(v1, v2)));
    target.repo.point("stable", rel2);
    target.server.blobPaths.clear();
    target.server.reports.clear();
    return rel2;
  }

  @FunctionalInterface
  interface DeltaMaker {
    byte[] make(Path v1, Path v2) throws Exception;
  }

  @Test
  void aDeltaBuiltAgainstAnotherBaseFallsBackToThePackageInTheSameRun() throws Exception {
    TestRepo.Release rel2 = install1ThenPublish2(null, (v1, v2) -> {
      Map<String, byte[]> other = new LinkedHashMap<>(TestTarget.files("1.0.0", HEALTHY));
      other.put("lib/extra.txt", "not in the installed tree\n".getBytes(StandardCharsets.UTF_8));
      return build(tree("other-base", other), v2, "wrong-base");
    });
    String delta = rel2.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256();

    UpdateEngine.Result r = engine.runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    Trees.verify(target.homeDirs().version("2.0.0"), rel2.manifest().payload());
    assertThat(target.server.blobPaths).hasSize(2);
    assertThat(target.server.blobPaths.get(0)).endsWith(delta);
    assertThat(target.server.blobPaths.get(1)).endsWith(rel2.manifest().packageBlob().sha256());
    assertFallbackRecorded(ErrorCode.BASE_MISMATCH);
    assertThat(NodeState.read(target.homeDirs().nodeFile()).badDeltas()).containsExactly(delta);
  }

  @Test
  void aDeltaWhoseResultHasAnotherHashFallsBackAndIsNotTriedOnTheNextPoll() throws Exception {
    // The gate stays closed on the first run, so the update ends after STAGE and is retried.
    TestRepo.Release rel2 = install1ThenPublish2("gate:\n  claims: true\n  timeout: 1s\n", (v1, v2) -> {
      Map<String, byte[]> almost = new LinkedHashMap<>(TestTarget.files("2.0.0", HEALTHY));
      almost.put("app.properties", "version=2.0.0\nhealthy=true\n# not the signed file\n".getBytes());
      return build(v1, tree("almost-2", almost), "wrong-result");
    });
    String delta = rel2.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256();
    target.server.claimStatus = 409;

    UpdateEngine.Result closed = engine.runOnce(false);

    assertThat(closed.code()).as(closed.message()).isEqualTo(ErrorCode.GATE_CLOSED);
    assertThat(target.server.blobPaths).hasSize(2);
    JournalRecord first = lastEvent();
    assertThat(steps(first)).containsSubsequence("DOWNLOAD:OK", "STAGE:FAILED:HASH_MISMATCH", "DOWNLOAD:OK",
        "STAGE:OK", "GATE:FAILED:GATE_CLOSED");
    assertThat(NodeState.read(target.homeDirs().nodeFile()).badDeltas()).containsExactly(delta);

    target.server.blobPaths.clear();
    target.server.claimStatus = 201;
    UpdateEngine.Result r = engine.runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    // The package is still in the download cache (the gate failed after staging): nothing is fetched.
    assertThat(target.server.blobPaths).as("the bad delta is not tried again").noneMatch(p -> p.endsWith(delta));
    assertThat(steps(lastEvent())).containsExactly("BEGIN:OK", "RESOLVE:OK", "DOWNLOAD:OK", "STAGE:OK", "GATE:OK",
        "STOP:OK", "SWITCH:OK", "START:OK", "VERIFY:OK", "COMMIT:OK", "END_ACTION:OK");
    assertThat(String.join("\n", log).split("falling back", -1)).hasSize(2); // once, in the first run
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
  }

  @Test
  void aMalformedDeltaFallsBackToThePackage() throws Exception {
    install1ThenPublish2(null, (v1, v2) -> "not a delta at all".repeat(20).getBytes(StandardCharsets.UTF_8));

    UpdateEngine.Result r = engine.runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertFallbackRecorded(ErrorCode.PATCH_MALFORMED);
  }

  private void assertFallbackRecorded(ErrorCode code) {
    JournalRecord event = lastEvent();
    assertThat(event.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(event.errorCode()).isNull();
    assertThat(steps(event)).containsExactly("BEGIN:OK", "RESOLVE:OK", "DOWNLOAD:OK", "STAGE:FAILED:" + code,
        "DOWNLOAD:OK", "STAGE:OK", "GATE:SKIPPED", "STOP:OK", "SWITCH:OK", "START:OK", "VERIFY:OK", "COMMIT:OK",
        "END_ACTION:OK");
    assertThat(event.steps().get(4).message()).contains("fallback", "full package");
    assertThat(target.server.reports).hasSize(1);
    Feedback report = Json.read(target.server.reports.values().iterator().next().getBytes(StandardCharsets.UTF_8),
        Feedback.class, "feedback");
    assertThat(report.outcome()).isEqualTo("COMMITTED");
    assertThat(report.steps()).extracting(s -> s.state() + ":" + s.outcome() + (s.errorCode() == null ? ""
        : ":" + s.errorCode())).containsSubsequence("STAGE:FAILED:" + code, "DOWNLOAD:OK", "STAGE:OK");
    assertThat(String.join("\n", log)).contains("falling back to the full package");
    // The fallback is a warning in history and in the report too.
    assertThat(event.notes()).anySatisfy(n -> {
      assertThat(n.state()).isEqualTo("STAGE");
      assertThat(n.level()).isEqualTo("WARNING");
      assertThat(n.message()).contains("falling back to the full package", code.name());
    });
    assertThat(report.notes()).extracting(io.upgradekit.schema.model.EventNote::message)
        .anyMatch(m -> m.contains("falling back to the full package"));
  }

  private JournalRecord lastEvent() {
    List<JournalRecord> history = engine.journal().history();
    return history.get(history.size() - 1);
  }

  private static List<String> steps(JournalRecord event) {
    return event.steps().stream().map(s -> s.state() + ":" + s.outcome() + (s.errorCode() == null ? ""
        : ":" + s.errorCode())).toList();
  }
}
