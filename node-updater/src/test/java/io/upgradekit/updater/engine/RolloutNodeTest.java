package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.updater.cli.StatusCommand;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.testsupport.FakeApplier;
import io.upgradekit.updater.testsupport.FakeRolloutServer;
import io.upgradekit.updater.testsupport.RepoSimulator;
import io.upgradekit.updater.testsupport.TestRepo;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The node's side of a rollout (docs/rollouts.md, "On the node") against a repo-server stand-in
 * that signs real rollout states and lease grants with the repository's rollout key. The service
 * is two shell commands that log to a file, so "nothing live changed" is visible and each test
 * takes well under a second.
 */
@Timeout(60)
class RolloutNodeTest {
  private static final RolloutPlan PLAN = new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, 75, 0L, null);

  @TempDir
  Path tmp;

  private TestRepo repo;
  private RepoSimulator server;
  private FakeRolloutServer fleet;
  private Path configFile;
  private Path serviceLog;
  /** Thrown from the event listener (a crash) when set and it says so. */
  private Consumer<AgentEvent> crash = e -> { };

  @BeforeEach
  void installV1() throws IOException {
    repo = new TestRepo(tmp.resolve("repo"));
    server = new RepoSimulator(tmp.resolve("repo"));
    serviceLog = tmp.resolve("service.log");
    configFile = tmp.resolve("updater.yaml");
    Files.writeString(configFile, """
        repository:
          url: %s
          trustRoot: %s
        app: demo
        channel: stable
        home: %s
        node:
          id: node-1
          credential: test-credential
          labels: zone=a,rack=3
        limits:
          requestTimeout: 5s
          stallTimeout: 2s
          minFreeDisk: 1MB
        service:
          start: [sh, -c, "echo start >> %s"]
          stop: [sh, -c, "echo stop >> %s"]
          stopTimeout: 5s
        health:
          command: [sh, -c, "test ! -e current/broken"]
          attempts: 1
        """.formatted(server.base(), repo.pinnedRoot(), tmp.resolve("home"), serviceLog, serviceLog));
    Release v1 = repo.publish("1.0.0", 1, TestTarget.files("1.0.0", ""));
    repo.point("stable", v1);
    assertThat(run().outcome()).isEqualTo(Outcome.COMMITTED);
    Files.deleteIfExists(serviceLog);
    server.reports.clear();
    transitions.clear();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** Publishes 2.0.0 with a rollout plan (or a broken one whose health check fails) and points the channel at it. */
  private void publishV2(boolean broken) {
    Map<String, byte[]> files = new HashMap<>(TestTarget.files("2.0.0", ""));
    if (broken) {
      files.put("broken", new byte[] {1});
    }
    Release v2 = repo.publish("2.0.0", 2, files, PLAN, "1.0.0");
    repo.point("stable", v2);
    fleet = new FakeRolloutServer(repo, server, "2.0.0");
  }

  private final List<String> transitions = Collections.synchronizedList(new ArrayList<>());

  private UpdateEngine engine() {
    return new UpdateEngine(ConfigLoader.load(configFile), new FakeApplier(), Clock.systemUTC(), event -> {
      if (event instanceof AgentEvent.Transition t) {
        transitions.add(t.to().name());
        if (fleet != null) {
          fleet.calls.add(t.to().name()); // the order of live steps against the server's calls
        }
      }
      crash.accept(event);
    });
  }

  /** One {@code run --once} of a fresh engine (a new process, as far as the node's state goes). */
  private Result run() {
    return engine().runOnce(false);
  }

  private String current() {
    return new Home(tmp.resolve("home")).currentVersion().orElse(null);
  }

  private List<JournalRecord> history() {
    return new UpdateEngine(ConfigLoader.load(configFile), new FakeApplier(), Clock.systemUTC(), e -> { })
        .journal().history();
  }

  private NodeState nodeState() {
    return NodeState.read(new Home(tmp.resolve("home")).nodeFile());
  }

  private String serviceLog() throws IOException {
    return Files.exists(serviceLog) ? Files.readString(serviceLog) : "";
  }

  private String status(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--config", configFile.toString()));
    int code = new CommandLine(new StatusCommand(new PrintStream(out, true, StandardCharsets.UTF_8), System.err))
        .execute(all.toArray(String[]::new));
    assertThat(code).isZero();
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void waitsForItsWaveRecordsTheWaitOncePerReasonThenGrantConfirmStopReleaseInThatOrder() throws IOException {
    publishV2(false);
    fleet.wave("node-1", 2, 5).proceed(1);
    int before = history().size();

    Result r = run();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.WAITING);
    assertThat(r.code()).isEqualTo(ErrorCode.WAVE_NOT_OPEN);
    assertThat(r.message()).isEqualTo("waiting for wave 3 of 5");
    assertThat(r.exitCode()).as("a wait is no failure (DESIGN section 8: 0)").isEqualTo(ExitStatus.OK);
    assertThat(r.retryAfter()).isEqualTo(Duration.ofSeconds(7));
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(transitions).doesNotContain("STOP");
    assertThat(history()).hasSize(before + 1);
    JournalRecord waited = history().get(history().size() - 1);
    assertThat(waited.outcome()).isEqualTo(Outcome.WAITING);
    assertThat(waited.errorCode()).isEqualTo("WAVE_NOT_OPEN");
    assertThat(status()).contains("waiting:          waiting for wave 3 of 5 [WAVE_NOT_OPEN] (upgrade of 2.0.0");
    assertThat(status("--json")).contains("\"waiting\":{").contains("\"message\":\"waiting for wave 3 of 5\"");

    // The same answer on later polls: no new history entry, and the staged version is not fetched again.
    int blobs = server.blobRequests.get();
    fleet.proceed(2);
    assertThat(run().message()).isEqualTo("waiting for wave 3 of 5");
    assertThat(run().outcome()).isEqualTo(Outcome.WAITING);
    assertThat(history()).hasSize(before + 1);
    assertThat(server.blobRequests.get()).isEqualTo(blobs);

    fleet.proceed(3);
    transitions.clear();
    fleet.calls.clear();
    Result go = run();

    assertThat(go.outcome()).as(go.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(current()).isEqualTo("2.0.0");
    assertThat(fleet.calls).containsSubsequence("GATE", "ask upgrade", "grant 0/1", "confirm 0/1", "STOP", "SWITCH",
        "VERIFY", "COMMIT", "END", "release 0/1 COMMITTED");
    assertThat(fleet.released).containsExactly("0/1 COMMITTED");
    assertThat(nodeState().lease()).isNull();
    assertThat(nodeState().waiting()).isNull();
    assertThat(status()).doesNotContain("waiting:");
    // Waits are not reported (the controller would count them as failures); the update is.
    assertThat(server.reports.values()).hasSize(1).allSatisfy(r2 -> assertThat(r2).contains("\"COMMITTED\""));
  }

  @Test
  void waitsForASlotWithTheServersFigures() {
    publishV2(false);
    fleet.proceed(1);
    fleet.budget = 2;
    fleet.busyElsewhere = 2;

    Result r = run();

    assertThat(r.outcome()).isEqualTo(Outcome.WAITING);
    assertThat(r.code()).isEqualTo(ErrorCode.SCOPE_FULL);
    assertThat(r.message()).isEqualTo("waiting for a slot: 2 of 2 busy");
    assertThat(nodeState().waiting().message()).isEqualTo("waiting for a slot: 2 of 2 busy");

    fleet.busyElsewhere = 1;
    assertThat(run().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(fleet.released).containsExactly("0/1 COMMITTED");
  }

  @Test
  void aSlotLostBeforeStopChangesNothingLiveAndTheNodeWaitsAgain() throws IOException {
    publishV2(false);
    fleet.proceed(1);
    fleet.loseNextConfirm = true;

    Result r = run();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.WAITING);
    assertThat(r.message()).isEqualTo("waiting for a slot: 1 of 1 busy");
    assertThat(fleet.calls).containsSubsequence("grant 0/1", "confirm 0/1", "ask upgrade");
    assertThat(transitions).doesNotContain("STOP", "SWITCH");
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(serviceLog()).doesNotContain("stop");
    assertThat(nodeState().lease()).isNull();
    assertThat(history().get(history().size() - 1).notes()).extracting(EventNote::message)
        .anyMatch(m -> m.startsWith("rollout slot 0 (generation 1) was lost before anything live changed"));

    fleet.free(0);
    assertThat(run().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(fleet.released).containsExactly("0/3 COMMITTED");
  }

  @Test
  void aServerGoneBetweenTheGrantAndItsConfirmationIsAPauseNotAFailure() throws IOException {
    publishV2(false);
    fleet.proceed(1);
    fleet.failNextConfirm = true;

    Result r = run();

    // A failure would be reported and count against the wave (maxFailures): the node only waits.
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.WAITING);
    assertThat(r.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(r.message()).startsWith("repo-server did not answer the confirmation of rollout slot 0");
    assertThat(transitions).doesNotContain("STOP", "SWITCH");
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(nodeState().lease()).isNull();

    // The server is back: the same grant, confirmed, and the update goes on.
    assertThat(run().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(fleet.calls).containsSubsequence("grant 0/1", "confirm 0/1", "confirm 0/1");
    assertThat(fleet.released).containsExactly("0/1 COMMITTED");
  }

  @Test
  void missingPausedStaleAndHaltedStateIsAWaitNeverAGo() {
    publishV2(false);

    Result missing = run();
    assertThat(missing.outcome()).isEqualTo(Outcome.WAITING);
    assertThat(missing.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(missing.message()).contains("no rollout state is published for 2.0.0");

    fleet.pause();
    assertThat(run().message()).isEqualTo("the rollout of 2.0.0 is paused");

    fleet.proceed(1);
    fleet.publish(Duration.ofMinutes(-1)); // proceed, but expired: stale never means go
    Result stale = run();
    assertThat(stale.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(stale.message()).contains("stale");

    fleet.halt();
    Result halted = run();
    assertThat(halted.outcome()).isEqualTo(Outcome.WAITING);
    assertThat(halted.code()).isEqualTo(ErrorCode.ROLLOUT_HALTED);

    assertThat(fleet.calls).noneMatch(c -> c.startsWith("ask"));
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(transitions).doesNotContain("STOP");
    // Four reasons, four entries in history.
    assertThat(history()).filteredOn(e -> e.outcome() == Outcome.WAITING).extracting(JournalRecord::message)
        .hasSize(4);
  }

  @Test
  void aForgedOrReplayedRolloutStateIsRefused() {
    publishV2(false);
    fleet.wave("node-1", 1, 2);
    RolloutState older = fleet.current(Duration.ofMinutes(2));
    byte[] olderSigned = Envelopes.sign(DocumentType.ROLLOUT, older, List.of(repo.rolloutKey()));
    fleet.proceed(1); // sequence 2
    assertThat(run().code()).isEqualTo(ErrorCode.WAVE_NOT_OPEN);

    // Replayed: an older, validly signed state, read by a fresh engine (the sequence is kept on disk).
    repo.put(RepositoryLayout.rolloutState("demo", "2.0.0"), olderSigned);
    Result replayed = run();
    assertThat(replayed.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(replayed.code()).isEqualTo(ErrorCode.ROLLBACK_REFUSED);
    assertThat(replayed.exitCode()).isEqualTo(ExitStatus.REFUSED);

    // Forged: signed by the release key, which is not a rollout key.
    RolloutState proceed = fleet.current(Duration.ofMinutes(2));
    repo.put(RepositoryLayout.rolloutState("demo", "2.0.0"), Envelopes.sign(DocumentType.ROLLOUT, proceed,
        List.of(repo.releaseKey())));
    Result forged = run();
    assertThat(forged.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(forged.code()).isEqualTo(ErrorCode.SIGNATURE_INVALID);

    assertThat(fleet.calls).containsOnlyOnce("ask upgrade").noneMatch(c -> c.startsWith("confirm"));
    assertThat(current()).isEqualTo("1.0.0");
  }

  @Test
  void aForgedGrantOrOneForAWaveNotOpenIsNotObeyed() {
    publishV2(false);
    fleet.proceed(1);
    fleet.grantKey = SigningKey.generate();

    Result forged = run();

    assertThat(forged.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(forged.code()).isEqualTo(ErrorCode.SIGNATURE_INVALID);
    assertThat(fleet.calls).noneMatch(c -> c.startsWith("confirm"));
    assertThat(nodeState().lease()).isNull();

    fleet.grantKey = null;
    fleet.free(0);
    fleet.grantTweak = g -> LeaseGrant.of(g.app(), g.version(), g.node(), g.kind(), 3, g.slot(), g.generation(),
        g.issuedAt(), g.expires());
    server.reports.clear();
    Result wrongWave = run();
    // Not obeyed, and no refusal either: the state may just lag the server's decision (next test).
    assertThat(wrongWave.outcome()).isEqualTo(Outcome.WAITING);
    assertThat(wrongWave.code()).isEqualTo(ErrorCode.WAVE_NOT_OPEN);
    assertThat(wrongWave.message()).contains("grant is for wave 4", "does not open it yet");
    assertThat(wrongWave.retryAfter()).isEqualTo(RolloutGate.STATE_BEHIND_RETRY);
    assertThat(fleet.calls).noneMatch(c -> c.startsWith("confirm"));
    assertThat(nodeState().lease()).isNull();
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(transitions).doesNotContain("STOP");
    assertThat(server.reports).as("a wait is not reported").isEmpty();
  }

  @Test
  void aGrantForAWaveOpenedAfterTheNodeReadTheStateIsObeyedOnceTheSignedStateOpensIt() {
    publishV2(false);
    fleet.wave("node-1", 1, 2);
    fleet.proceed(1);
    // The server opens wave 2 while this node's slot request is on its way, and signs the state after the grant.
    fleet.onAsk = () -> fleet.openWithoutPublishing(2);

    Result behind = run();

    assertThat(behind.outcome()).as("the state it can read still opens 1 wave").isEqualTo(Outcome.WAITING);
    assertThat(behind.code()).isEqualTo(ErrorCode.WAVE_NOT_OPEN);
    assertThat(fleet.calls).noneMatch(c -> c.startsWith("confirm"));
    assertThat(transitions).doesNotContain("STOP");

    fleet.onAsk = () -> { };
    fleet.proceed(2);
    Result next = run();

    assertThat(next.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(fleet.calls).as("the same grant, asked for again, then confirmed")
        .containsSubsequence("grant 0/1", "grant 0/1", "confirm 0/1", "release 0/1 COMMITTED");
    assertThat(current()).isEqualTo("2.0.0");
  }

  @Test
  void aGrantThatArrivesWithTheStateOpeningItsWaveIsObeyedAtOnce() {
    publishV2(false);
    fleet.wave("node-1", 1, 2);
    fleet.proceed(1);
    // Opened and signed between this node's read of the state and the grant: it reads the state again.
    fleet.onAsk = () -> fleet.proceed(2);

    assertThat(run().outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(fleet.calls).containsOnlyOnce("ask upgrade");
  }

  @Test
  void aRecallSwitchesBackToTheVersionTheNodeCameFromWithARecallSlot() {
    publishV2(false);
    fleet.wave("node-1", 1, 2).proceed(2);
    assertThat(run().outcome()).isEqualTo(Outcome.COMMITTED);
    server.reports.clear();

    // A stale recall orders nothing.
    fleet.recall("1.0.0", 1);
    fleet.publish(Duration.ofMinutes(-1));
    assertThat(run().outcome()).isEqualTo(Outcome.UP_TO_DATE);
    // The recall has not reached this node's wave yet (it goes back from the last wave).
    fleet.recall("1.0.0", 2);
    Result notYet = run();
    assertThat(notYet.outcome()).isEqualTo(Outcome.WAITING);
    assertThat(notYet.message()).startsWith("waiting for the recall of 2.0.0 to reach wave 2 of 2");
    assertThat(current()).isEqualTo("2.0.0");
    assertThat(fleet.calls).noneMatch(c -> c.equals("ask recall"));

    fleet.recall("1.0.0", 1);
    fleet.calls.clear();
    Result r = run();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(fleet.calls).containsSubsequence("ask recall", "grant 0/2", "confirm 0/2", "ROLLBACK",
        "release 0/2 ROLLED_BACK");
    JournalRecord last = history().get(history().size() - 1);
    assertThat(last.kind()).isEqualTo(EventKind.RECALL);
    assertThat(last.notes()).extracting(EventNote::message).contains("recalled: the canary's error rate tripled");
    Feedback report = Json.read(server.reports.values().iterator().next().getBytes(StandardCharsets.UTF_8),
        DocumentType.FEEDBACK, Feedback.class);
    assertThat(report.outcome()).isEqualTo("ROLLED_BACK");
    assertThat(report.notes()).extracting(EventNote::message).contains("recalled: the canary's error rate tripled");
    assertThat(nodeState().lease()).isNull();
    assertThat(run().outcome()).isEqualTo(Outcome.UP_TO_DATE); // 2.0.0 is not installed again
  }

  @Test
  void anOperatorsRetryLetsAFailedReleaseBeTriedAgainOncePerRetry() {
    publishV2(true);
    fleet.proceed(1);
    Result failed = run();
    assertThat(failed.outcome()).as(failed.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(fleet.released).containsExactly("0/1 ROLLED_BACK");
    assertThat(run().outcome()).isEqualTo(Outcome.UP_TO_DATE); // quarantined here

    fleet.retry("node-1");
    Result again = run();

    assertThat(again.outcome()).as(again.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(fleet.released).containsExactly("0/1 ROLLED_BACK", "0/2 ROLLED_BACK");
    assertThat(nodeState().rollout("2.0.0").retriesActedOn()).isEqualTo(1);
    assertThat(run().outcome()).isEqualTo(Outcome.UP_TO_DATE); // the same retry count is acted on once
    fleet.retry("node-1");
    assertThat(run().outcome()).isEqualTo(Outcome.ROLLED_BACK);
  }

  @Test
  void anUpdaterRestartedAfterACrashReturnsTheSlotItHeld() {
    publishV2(false);
    fleet.proceed(1);
    crash = e -> {
      if (e instanceof AgentEvent.Transition t && t.to() == UpdateState.START) {
        throw new Crash();
      }
    };
    assertThatThrownBy(this::run).isInstanceOf(Crash.class);
    assertThat(nodeState().lease()).satisfies(l -> {
      assertThat(l.confirmed()).isTrue();
      assertThat(l.outcome()).isNull();
    });
    assertThat(fleet.released).isEmpty();
    assertThat(status()).contains("rollout slot:     0 (generation 1, wave 1) for the upgrade of 2.0.0, confirmed");

    crash = e -> { };
    Result r = run();

    // Reconciled (rolled back: it was interrupted after the switch), the slot returned with that
    // outcome before the interrupted update is tried again with a new slot.
    assertThat(fleet.released).containsExactly("0/1 ROLLED_BACK", "0/2 COMMITTED");
    assertThat(fleet.calls).containsSubsequence("release 0/1 ROLLED_BACK", "ask upgrade", "grant 0/2");
    assertThat(nodeState().lease()).isNull();
    assertThat(r.outcome()).isEqualTo(Outcome.COMMITTED);
  }

  @Test
  void anUpdaterThatCrashedBeforeTheConfirmationReturnsTheSlotAndTriesAgain() {
    publishV2(false);
    fleet.proceed(1);
    crash = e -> {
      if (e instanceof AgentEvent.Note n && n.message().startsWith("rollout slot 0 (generation 1")) {
        throw new Crash();
      }
    };
    assertThatThrownBy(this::run).isInstanceOf(Crash.class);
    assertThat(nodeState().lease().confirmed()).isFalse();

    crash = e -> { };
    Result r = run();

    assertThat(fleet.released).containsExactly("0/1 FAILED", "0/2 COMMITTED");
    assertThat(fleet.calls).doesNotContain("confirm 0/1");
    assertThat(r.outcome()).isEqualTo(Outcome.COMMITTED);
  }

  @Test
  void aReleaseWithAPlanNeedsANodeCredential() throws IOException {
    Files.writeString(configFile, Files.readString(configFile).replace("  credential: test-credential\n", ""));
    publishV2(false);
    fleet.proceed(1);

    Result r = run();

    assertThat(r.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
    assertThat(r.exitCode()).isEqualTo(ExitStatus.USAGE);
    assertThat(r.message()).contains("carries a rollout plan").contains("node.credential");
    assertThat(current()).isEqualTo("1.0.0");
  }

  /** Stands for the process dying: not an exception the engine handles. */
  private static final class Crash extends Error {
    private static final long serialVersionUID = 1L;
  }

  // ------------------------------------------------------------------ release sets and their contracts

  private static final ReleaseSet SHOP = ReleaseSet.of("shop", "2026.1", 1, java.time.Instant.now(),
      java.time.Instant.now().plus(Duration.ofDays(1)), List.of(new ReleaseSet.Component("cache", "2.0", List.of()),
          new ReleaseSet.Component("demo", "2.0.0", List.of("cache"))), ReleaseSet.Strategy.ROLLING,
      ReleaseSet.Rollback.AUTO, List.of(ReleaseSet.Contract.parse("demo 2.x requires cache >= 2.0")));

  /** 2.0.0 with a plan that names release set shop, rolled out by shop 2026.1 (published), wave 1 open. */
  private void publishV2InASet() {
    Release v2 = repo.publish("2.0.0", 2, TestTarget.files("2.0.0", ""), PLAN.withSet("shop"), "1.0.0");
    repo.point("stable", v2);
    fleet = new FakeRolloutServer(repo, server, "2.0.0").inSet("shop", "2026.1");
    fleet.publishSet(SHOP);
    fleet.proceed(1);
  }

  private SetState setState(Map<String, Integer> cacheVersions, int cacheNodes) {
    return setState(cacheVersions, cacheNodes, Duration.ofMinutes(2));
  }

  private SetState setState(Map<String, Integer> cacheVersions, int cacheNodes, Duration ttl) {
    return fleet.setState(SetState.Status.RUNNING, false, List.of(
        new SetState.Component("cache", "2.0", SetState.ComponentStatus.COMPLETE, null),
        new SetState.Component("demo", "2.0.0", SetState.ComponentStatus.ROLLING, null)),
        List.of(new SetState.AppFleet("cache", cacheNodes, cacheVersions)), ttl);
  }

  @Test
  void aContractTheSignedFleetDoesNotMeetWaitsAtGateVisiblyAndNeverInstalls() throws IOException {
    publishV2InASet();
    fleet.publishSetState(setState(Map.of("1.4", 1, "2.0", 1), 2), repo.rolloutKey());
    int before = history().size();

    Result r = run();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.WAITING);
    assertThat(r.code()).isEqualTo(ErrorCode.CONTRACT_UNMET);
    assertThat(r.message()).isEqualTo("waiting for cache >= 2.0: 1 of 2 cache nodes run 1.4 (contract 'demo 2.x"
        + " requires cache >= 2.0' of release set shop 2026.1)");
    assertThat(r.retryAfter()).isEqualTo(RolloutGate.CONTRACT_RETRY);
    assertThat(r.exitCode()).isEqualTo(ExitStatus.OK);
    assertThat(fleet.calls).as("no slot is asked while the contract is unmet").doesNotContain("ask upgrade");
    assertThat(transitions).doesNotContain("STOP");
    assertThat(current()).isEqualTo("1.0.0");
    assertThat(status()).contains("waiting:          waiting for cache >= 2.0: 1 of 2 cache nodes run 1.4",
        "[CONTRACT_UNMET]");
    assertThat(history()).hasSize(before + 1);
    assertThat(history().get(history().size() - 1).errorCode()).isEqualTo("CONTRACT_UNMET");
    // reported once per reason, as WAITING: operators see it, and the controller counts it neither done nor failed
    assertThat(server.reports.values()).singleElement().satisfies(report -> assertThat(report)
        .contains("\"outcome\":\"WAITING\"", "\"errorCode\":\"CONTRACT_UNMET\"", "1 of 2 cache nodes run 1.4"));
    assertThat(run().code()).isEqualTo(ErrorCode.CONTRACT_UNMET);
    assertThat(server.reports).hasSize(1);
    assertThat(history()).hasSize(before + 1);

    fleet.publishSetState(setState(Map.of("2.0", 2), 2), repo.rolloutKey());
    Result go = run();
    assertThat(go.outcome()).as(go.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(current()).isEqualTo("2.0.0");
  }

  @Test
  void aDaemonWaitingForAContractFetchesTheSetOnceAndAsksForItsStateWithItsEtag() {
    publishV2InASet();
    fleet.publishSetState(setState(Map.of("1.4", 1, "2.0", 1), 2, Duration.ofSeconds(30)), repo.rolloutKey());
    String setPath = RepositoryLayout.releaseSet("shop", "2026.1");
    String statePath = RepositoryLayout.setState("shop", "2026.1");
    HeartbeatsTest.MutableClock clock = new HeartbeatsTest.MutableClock();
    // one engine polls again and again, as the daemon does
    UpdateEngine daemon = new UpdateEngine(ConfigLoader.load(configFile), new FakeApplier(), clock, event -> { });

    assertThat(daemon.runOnce(false).code()).isEqualTo(ErrorCode.CONTRACT_UNMET);
    clock.now = Instant.now();
    // the same answer again, from the kept bytes: the server answered 304, without a body
    assertThat(daemon.runOnce(false).code()).isEqualTo(ErrorCode.CONTRACT_UNMET);

    assertThat(server.requests(setPath)).as("the set is immutable: fetched once").hasSize(1);
    List<RepoSimulator.Request> states = server.requests(statePath);
    assertThat(states).hasSize(2);
    assertThat(states.get(0).header("If-None-Match")).isNull();
    String etag = states.get(1).header("If-None-Match");
    assertThat(etag).as("asked again with the ETag it came with").isNotNull();

    // the kept bytes are verified on every use: once they expired, the same bytes (304) are a stale state
    clock.now = Instant.now().plus(Duration.ofSeconds(45));
    Result stale = daemon.runOnce(false);
    assertThat(server.requests(statePath)).hasSize(3).last().satisfies(r -> assertThat(r.header("If-None-Match"))
        .isEqualTo(etag));
    assertThat(stale.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(stale.message()).contains("the state of release set shop 2026.1 is stale");

    fleet.publishSetState(setState(Map.of("2.0", 2), 2), repo.rolloutKey());
    clock.now = Instant.now();
    Result go = daemon.runOnce(false);
    assertThat(go.outcome()).as(go.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(server.requests(setPath)).hasSize(1);
    assertThat(current()).isEqualTo("2.0.0");
  }

  @Test
  void theContractRestsOnSignedDataOnlyAStaleForgedOrReplayedSetStateNeverLetsTheNodeGo() {
    publishV2InASet();
    // no set state at all: a pause, even though the server would grant a slot
    Result missing = run();
    assertThat(missing.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(missing.message()).contains("no state of release set shop 2026.1 is published yet");
    assertThat(fleet.calls).doesNotContain("ask upgrade");

    fleet.publishSetState(setState(Map.of("2.0", 2), 2, Duration.ofSeconds(-1)), repo.rolloutKey());
    assertThat(run().message()).contains("the state of release set shop 2026.1 is stale");

    // "met", but signed by the release key (not a rollout key): refused
    fleet.publishSetState(setState(Map.of("2.0", 2), 2), repo.releaseKey());
    Result forged = run();
    assertThat(forged.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(forged.code()).isEqualTo(ErrorCode.SIGNATURE_INVALID);

    // an older "met" state replayed after a newer "unmet" one: refused
    SetState olderMet = setState(Map.of("2.0", 2), 2);
    fleet.publishSetState(setState(Map.of("1.4", 2), 2), repo.rolloutKey());
    assertThat(run().code()).isEqualTo(ErrorCode.CONTRACT_UNMET);
    fleet.publishSetState(olderMet, repo.rolloutKey());
    Result replayed = run();
    assertThat(replayed.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(replayed.code()).isEqualTo(ErrorCode.ROLLBACK_REFUSED);

    assertThat(fleet.calls).doesNotContain("ask upgrade");
    assertThat(current()).isEqualTo("1.0.0");
  }

  @Test
  void aReleaseWhosePlanNamesASetWaitsUntilItsSignedStateNamesTheSetAndShowsWhatTheSetWaitsFor() {
    Release v2 = repo.publish("2.0.0", 2, TestTarget.files("2.0.0", ""), PLAN.withSet("shop"), "1.0.0");
    repo.point("stable", v2);
    fleet = new FakeRolloutServer(repo, server, "2.0.0");
    fleet.heldBySet(); // no set lists it yet: a pause without a decision, naming no set
    Result unpublished = run();
    assertThat(unpublished.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(unpublished.message()).isEqualTo("the plan of 2.0.0 names release set shop: waiting for the set to be"
        + " published and to start it");

    fleet.proceed(1); // a server that ignores the set: its state names none

    Result unnamed = run();
    assertThat(unnamed.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(unnamed.message()).contains("names release set shop, but its signed rollout state names no set");
    assertThat(fleet.calls).doesNotContain("ask upgrade");

    fleet.inSet("shop", "2026.1").publishSet(SHOP);
    fleet.publishSetState(fleet.setState(SetState.Status.RUNNING, false, List.of(
        new SetState.Component("cache", "2.0", SetState.ComponentStatus.ROLLING, null),
        new SetState.Component("demo", "2.0.0", SetState.ComponentStatus.WAITING, List.of("cache"))),
        List.of(new SetState.AppFleet("cache", 2, Map.of("1.4", 2))), Duration.ofMinutes(2)), repo.rolloutKey());
    fleet.heldBySet();
    Result held = run();
    assertThat(held.code()).isEqualTo(ErrorCode.ROLLOUT_PAUSED);
    assertThat(held.message()).isEqualTo("waiting for release set shop 2026.1: demo starts after cache");

    fleet.publishSetState(fleet.setState(SetState.Status.HALTED, false, List.of(
        new SetState.Component("cache", "2.0", SetState.ComponentStatus.HALTED, null),
        new SetState.Component("demo", "2.0.0", SetState.ComponentStatus.STARTING, null)),
        List.of(new SetState.AppFleet("cache", 2, Map.of("2.0", 2))), Duration.ofMinutes(2)), repo.rolloutKey());
    fleet.proceed(1);
    Result halted = run();
    assertThat(halted.code()).isEqualTo(ErrorCode.ROLLOUT_HALTED);
    assertThat(halted.message()).isEqualTo("release set shop 2026.1 is halted: 2.0.0 is not installed here");
    assertThat(current()).isEqualTo("1.0.0");
  }
}
