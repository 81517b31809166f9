package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.updater.cli.HistoryCommand;
import io.upgradekit.updater.engine.UpdateEngine.Result;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.event.EventKind;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.event.UpdateState;
import io.upgradekit.updater.journal.JournalRecord;
import io.upgradekit.updater.journal.NodeState;
import io.upgradekit.updater.testsupport.TestLoad;
import io.upgradekit.updater.testsupport.TestRepo.Release;
import io.upgradekit.updater.testsupport.TestTarget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The acceptance list of issue 6 with real files, a real HTTP repository and the real test service. */
@Timeout(120)
class UpdateEngineTest {
  private static final String HEALTHY = "healthy=true\nerrorRate=0.01\nlatency=0.02\n";

  @TempDir
  Path tmp;

  private TestTarget target;

  @AfterEach
  void stopEverything() {
    if (target != null) {
      target.close();
    }
  }

  private Release installV1(String strategy, String extraYaml) throws IOException {
    target = new TestTarget(tmp, strategy, extraYaml);
    Release v1 = target.repo.publish("1.0.0", 1, TestTarget.files("1.0.0", HEALTHY));
    target.repo.point("stable", v1);
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    target.server.reports.clear();
    target.events.clear();
    return v1;
  }

  private Release publishV2(String properties) {
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", properties), "1.0.0");
    target.repo.point("stable", v2);
    return v2;
  }

  private JournalRecord lastEvent() {
    List<JournalRecord> history = target.engine().journal().history();
    return history.get(history.size() - 1);
  }

  @Test
  void aHeldSocketThisUpdaterDoesNotHoldFailsTheRunBeforeAnythingIsStartedOrStopped() throws Exception {
    Release v1 = installV1("restart", null);
    long pid = target.engine().service().record().processes().get(0).pid();
    publishV2(HEALTHY);
    // This JVM's standard input is the test runner's pipe, not the socket the configuration names.
    target.writeConfig("restart\n  socket:\n    listen: 127.0.0.1:" + target.port, null);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(r.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.message()).contains("service.socket is set (127.0.0.1:" + target.port + "), but this updater's "
        + "standard input is not a socket", "UPDATER_LISTEN=127.0.0.1:" + target.port);
    assertThat(target.home.resolve("current")).isSymbolicLink();
    assertThat(java.nio.file.Files.readSymbolicLink(target.home.resolve("current")).toString()).endsWith("1.0.0");
    assertThat(target.engine().service().record().processes()).extracting(p -> p.pid()).containsExactly(pid);
    assertThat(target.servedVersion()).isEqualTo(v1.version());
  }

  @Test
  void firstInstallUsesTheFullPackageThenUpdateUsesTheDelta() throws Exception {
    Release v1 = installV1("restart", null);
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    Trees.verify(target.homeDirs().version("1.0.0"), v1.manifest().payload());
    long oldPid = target.serviceProcesses().get(0).pid();

    Release v2 = publishV2(HEALTHY);
    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(r.exitCode()).isZero();
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.serviceProcesses()).hasSize(1).allMatch(p -> p.pid() != oldPid);
    assertThat(Files.readSymbolicLink(target.home.resolve("current"))).isEqualTo(Path.of("versions", "2.0.0"));
    Trees.verify(target.homeDirs().version("2.0.0"), v2.manifest().payload());
    assertThat(Files.getPosixFilePermissions(target.homeDirs().version("2.0.0").resolve("app.properties")))
        .doesNotContain(java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    // The delta, not the package, was downloaded: the cache saw the delta's hash.
    assertThat(v2.manifest().deltaFrom("1.0.0")).isPresent();
    JournalRecord event = lastEvent();
    assertThat(event.steps()).extracting(s -> s.state()).containsExactly("BEGIN", "RESOLVE", "DOWNLOAD", "STAGE",
        "GATE", "STOP", "SWITCH", "START", "VERIFY", "COMMIT", "END_ACTION");
    assertThat(event.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(NodeState.read(target.homeDirs().nodeFile()).previous()).isEqualTo("1.0.0");
    assertThat(target.server.reports).hasSize(1);
    assertThat(target.server.reports.values().iterator().next()).contains("\"outcome\":\"COMMITTED\"")
        .contains("\"toVersion\":\"2.0.0\"").contains("\"state\":\"SWITCH\"");
    assertThat(target.events).extracting(AgentEvent.Transition::to).startsWith(UpdateState.BEGIN, UpdateState.RESOLVE)
        .endsWith(UpdateState.COMMIT, UpdateState.END_ACTION, UpdateState.END);

    int conditional = target.server.notModified.get();
    Result again = target.engine().runOnce(false);
    assertThat(again.outcome()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(target.server.notModified.get()).as("the poll sent the pointer's ETag").isEqualTo(conditional + 1);
  }

  @Test
  void theDeltaFromTheInstalledVersionIsDownloadedNotThePackage() throws Exception {
    installV1("restart", null);
    Release v2 = publishV2(HEALTHY);
    target.server.blobPaths.clear();
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    String delta = v2.manifest().deltaFrom("1.0.0").orElseThrow().blob().sha256();
    assertThat(target.server.blobPaths).singleElement().asString().endsWith(delta);
    assertThat(target.homeDirs().cache()).doesNotExist(); // cleared after commit

    // A release without a delta from 2.0.0: the full package.
    Release v3 = target.repo.publish("3.0.0", 3, TestTarget.files("3.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v3);
    target.server.blobPaths.clear();
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.blobPaths).singleElement().asString().endsWith(v3.manifest().packageBlob().sha256());
  }

  @Test
  void overlapStartsTheNewBesideTheOldThenDrainsTheOld() throws Exception {
    installV1("overlap", null);
    long oldPid = target.serviceProcesses().get(0).pid();
    publishV2(HEALTHY);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.serviceProcesses()).hasSize(1).allMatch(p -> p.pid() != oldPid);
    assertThat(lastEvent().steps()).filteredOn(s -> s.state().equals("STOP")).extracting(s -> s.outcome())
        .containsExactly("SKIPPED");
  }

  @Test
  void tamperedBlobIsRefusedAndTheOldVersionKeepsRunning() throws Exception {
    installV1("restart", null);
    long pid = target.serviceProcesses().get(0).pid();
    Release v2 = publishV2(HEALTHY);
    Path blob = target.repo.blobFile(v2.manifest().deltaFrom("1.0.0").orElseThrow().blob());
    byte[] bytes = Files.readAllBytes(blob);
    bytes[bytes.length / 2] ^= 0x55;
    Files.write(blob, bytes);

    assertRefused(ErrorCode.HASH_MISMATCH, pid);
    assertThat(target.homeDirs().versionsOnDisk()).containsExactly("1.0.0");
  }

  @Test
  void aStagedTreeThatDiffersFromTheManifestIsRefusedBeforeAnythingLiveChanges() throws Exception {
    installV1("restart", null);
    long pid = target.serviceProcesses().get(0).pid();
    publishV2(HEALTHY);
    // An applier that gets one file wrong: staging verifies every file against the signed manifest.
    PayloadApplier sloppy = (blob, base, out, treeHash) -> {
      new io.upgradekit.updater.testsupport.FakeApplier().apply(blob, base, out, treeHash);
      Files.writeString(out.resolve("app.properties"), "version=2.0.0\nhealthy=true\n# edited\n");
    };
    UpdateEngine engine = new UpdateEngine(target.config(), sloppy, java.time.Clock.systemUTC(),
        TestTarget.notes(System.out::println));

    Result r = engine.runOnce(false);

    assertThat(r.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(r.code()).isEqualTo(ErrorCode.HASH_MISMATCH);
    assertThat(r.message()).contains("app.properties");
    assertThat(target.homeDirs().versionsOnDisk()).containsExactly("1.0.0");
    assertThat(target.homeDirs().staging()).isEmptyDirectory();
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);
  }

  @Test
  void badSignatureIsRefused() throws Exception {
    Release v1 = installV1("restart", null);
    long pid = target.serviceProcesses().get(0).pid();
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2, Instant.now().plus(Duration.ofDays(1)), SigningKey.generate());
    assertRefused(ErrorCode.SIGNATURE_INVALID, pid);
    assertThat(v1.version()).isEqualTo(target.homeDirs().currentVersion().orElseThrow());
  }

  @Test
  void expiredPointerIsRefused() throws Exception {
    installV1("restart", null);
    long pid = target.serviceProcesses().get(0).pid();
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2, Instant.now().minus(Duration.ofHours(1)), target.repo.releaseKey());
    assertRefused(ErrorCode.METADATA_EXPIRED, pid);
    // The report names the document and the fix.
    assertThat(lastEvent().message()).startsWith("the channel pointer demo/stable (2.0.0, sequence ")
        .contains("apps/demo/channels/stable.json) expired at ", "on this machine",
            "the publisher must re-sign it (mvn upgrade:resign -Dupgrade.app=demo -Dupgrade.channel=stable) or publish"
                + " a release to the channel");
    assertThat(target.server.reports.values()).singleElement().asString().contains("mvn upgrade:resign");
  }

  @Test
  void expiredReleaseManifestIsRefusedAndTheReportSaysToPublishANewRelease() throws Exception {
    installV1("restart", null);
    long pid = target.serviceProcesses().get(0).pid();
    target.repo.manifestLifetime = Duration.ofHours(-1);
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", HEALTHY), "1.0.0");
    target.repo.point("stable", v2);

    assertRefused(ErrorCode.METADATA_EXPIRED, pid);
    assertThat(lastEvent().message()).startsWith("the release manifest of demo 2.0.0 (apps/demo/releases/2.0.0/")
        .contains("the publisher must publish a new release to the channel (a manifest cannot be re-signed)");
  }

  @Test
  void expiredTrustRootIsRefusedAndTheReportSaysWhichVersionToPublish() throws Exception {
    installV1("restart", null);
    long pid = target.serviceProcesses().get(0).pid();
    publishV2(HEALTHY);
    target.repo.publishExpiredRoot();

    assertRefused(ErrorCode.METADATA_EXPIRED, pid);
    assertThat(lastEvent().message()).startsWith("trust root version 2 expired at ")
        .contains("the publisher must publish trust root version 3 (mvn upgrade:keygen with <rootKeyFile>)");
  }

  @Test
  void olderReleaseIsRefused() throws Exception {
    installV1("restart", null);
    publishV2(HEALTHY);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    long pid = target.serviceProcesses().get(0).pid();
    target.server.reports.clear();
    Release older = target.repo.publish("1.5.0", 1, TestTarget.files("1.5.0", HEALTHY));
    target.repo.point("stable", older);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).isEqualTo(Outcome.REFUSED);
    assertThat(r.code()).isEqualTo(ErrorCode.ROLLBACK_REFUSED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);
    assertThat(target.server.reports.values()).singleElement().asString().contains("ROLLBACK_REFUSED");
  }

  private void assertRefused(ErrorCode code, long pid) {
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.REFUSED);
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.code()).isEqualTo(code);
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);
    assertThat(target.server.reports.values()).singleElement().asString()
        .contains("\"errorCode\":\"" + code + "\"").contains("\"outcome\":\"REFUSED\"");
    assertThat(lastEvent().errorCode()).isEqualTo(code.name());
  }

  @Test
  void unhealthyNewVersionIsRolledBack() throws Exception {
    installV1("restart", null);
    publishV2("healthy=false\n");
    Result r = runWithFewHealthAttempts();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(r.exitCode()).isEqualTo(5);
    assertThat(r.code()).isEqualTo(ErrorCode.HEALTH_CHECK_FAILED);
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.serviceProcesses()).hasSize(1);
    assertThat(NodeState.read(target.homeDirs().nodeFile()).badReleases()).containsExactly("2.0.0");
    assertThat(lastEvent().steps()).extracting(s -> s.state() + ":" + s.outcome())
        .contains("VERIFY:FAILED", "ROLLBACK:OK");
    assertThat(target.server.reports.values()).singleElement().asString()
        .contains("\"outcome\":\"ROLLED_BACK\"").contains("HEALTH_CHECK_FAILED");
    // The bad release is not tried again while the channel points at it.
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
  }

  @Test
  void unhealthyNewVersionIsRolledBackWithOverlapToo() throws Exception {
    installV1("overlap", null);
    publishV2("healthy=false\n");
    Result r = runWithFewHealthAttempts();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.serviceProcesses()).hasSize(1);
    assertThat(target.get("/health")).startsWith("200 ");
  }

  @Test
  void overlapChecksTheNewProcessOnItsPrivatePortAndNeverStopsTheHealthyOldOne() throws Exception {
    installV1("overlap", null);
    checkEachProcessOnItsPrivatePort();
    ProcessHandle old = target.serviceProcesses().get(0);
    publishV2("healthy=false\n");

    Result r;
    TestLoad load = new TestLoad(target);
    try (load) {
      r = runWithFewHealthAttempts();
    }

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(r.code()).isEqualTo(ErrorCode.HEALTH_CHECK_FAILED);
    assertThat(r.message()).contains("(2.0.0) is not healthy after 40 attempt(s)").contains("answered HTTP 500");
    // The START check failed on the new process alone; the old one never stopped serving.
    assertThat(lastEvent().steps()).extracting(s -> s.state() + ":" + s.outcome())
        .containsSubsequence("STOP:SKIPPED", "SWITCH:OK", "START:FAILED", "ROLLBACK:OK").doesNotContain("VERIFY:OK");
    assertThat(old.isAlive()).isTrue();
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(old.pid());
    assertThat(load.sent()).isGreaterThan(20);
    assertThat(load.failed()).as("failed of %d requests", load.sent()).isZero();
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(NodeState.read(target.homeDirs().nodeFile()).badReleases()).containsExactly("2.0.0");
    // Only the old process's port file is left.
    try (Stream<Path> files = Files.list(target.homeDirs().state())) {
      assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("process-"))).hasSize(1);
    }
  }

  @Test
  void overlapWithPrivatePortChecksCommitsAHealthyVersion() throws Exception {
    installV1("overlap", null);
    checkEachProcessOnItsPrivatePort();
    long oldPid = target.serviceProcesses().get(0).pid();
    publishV2(HEALTHY);

    Result r;
    TestLoad load = new TestLoad(target);
    try (load) {
      r = target.engine().runOnce(false);
    }

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(target.serviceProcesses()).hasSize(1).allMatch(p -> p.pid() != oldPid);
    assertThat(load.failed()).as("failed of %d requests", load.sent()).isZero();
  }

  /** health.url with {processPort}: each check reaches the one process it is about. */
  private void checkEachProcessOnItsPrivatePort() throws IOException {
    String yaml = Files.readString(target.configFile);
    Files.writeString(target.configFile, yaml.replace("url: http://127.0.0.1:" + target.port + "/health",
        "url: http://127.0.0.1:{processPort}/health"));
  }

  private Result runWithFewHealthAttempts() throws IOException {
    String yaml = Files.readString(target.configFile).replace("attempts: 150", TestTarget.FEW_HEALTH_ATTEMPTS);
    Files.writeString(target.configFile, yaml);
    return target.engine().runOnce(false);
  }

  @Test
  void metricsRegressionInTheWatchWindowIsRolledBack() throws Exception {
    installV1("overlap", null);
    // Baseline from the old process, watch of the new one, each on its private port.
    target.writeConfig("overlap", "watch:\n  window: 1s\n  interval: 200ms\n  metrics:\n"
        + "    url: http://127.0.0.1:{processPort}/metrics\n    errorRate: http_error_ratio\n"
        + "    latency: http_latency_seconds\n");
    checkEachProcessOnItsPrivatePort();
    publishV2("healthy=true\nerrorRate=0.5\nlatency=1.5\n");

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(r.code()).isEqualTo(ErrorCode.METRICS_REGRESSION);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(lastEvent().metrics()).containsEntry("baseline.error_rate", 0.01).containsKey("watch.error_rate");
  }

  @Test
  void theReleasesOwnManualRollbackPolicyRecordsARegressionWithoutRollingBack() throws Exception {
    installV1("overlap", null);
    target.writeConfig("overlap", "watch:\n  window: 1s\n  interval: 200ms\n  metrics:\n    url: http://127.0.0.1:"
        + target.port + "/metrics\n    errorRate: http_error_ratio\n    latency: http_latency_seconds\n");
    io.upgradekit.schema.model.RolloutPlan plan = new io.upgradekit.schema.model.RolloutPlan(
        List.of(new io.upgradekit.schema.model.RolloutPlan.Component("demo", "2.0.0", null)),
        io.upgradekit.schema.model.RolloutPlan.Strategy.ALL, null, null,
        new io.upgradekit.schema.model.RolloutPlan.RollbackPolicy("manual", null, null, 1L));
    Release v2 = target.repo.publish("2.0.0", 2, TestTarget.files("2.0.0", "healthy=true\nerrorRate=0.5\nlatency=1.5\n"),
        plan, "1.0.0");
    target.repo.point("stable", v2);
    new io.upgradekit.updater.testsupport.FakeRolloutServer(target.repo, target.server, "2.0.0").proceed(1);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
    assertThat(lastEvent().metrics()).containsEntry("watch.error_rate", 0.5);
    // The regression that was not acted on is in history and in the report, not only in the log.
    assertThat(lastEvent().notes()).anySatisfy(n -> {
      assertThat(n.state()).isEqualTo("VERIFY");
      assertThat(n.level()).isEqualTo("WARNING");
      assertThat(n.message()).startsWith("regression seen, not acted on");
    });
    assertThat(onlyReport().notes()).extracting(EventNote::message)
        .anyMatch(m -> m.startsWith("regression seen, not acted on"));
  }

  @Test
  void waitingAtTheRolloutGateIsNotedInHistoryAndInTheReport() throws Exception {
    installV1("restart", null);
    target.writeConfig("restart", "gate:\n  rolloutState: true\n  timeout: 30s\n");
    publishV2(HEALTHY);
    target.repo.rollout("2.0.0", 1, io.upgradekit.schema.model.RolloutState.Action.PROCEED,
        Instant.now().plus(Duration.ofHours(1)));
    // The first look at the rollout state meets a busy server that asks for a second's patience.
    target.server.on(RepositoryLayout.rolloutState("demo", "2.0.0")).status(503).header("Retry-After", "1")
        .times(1);

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(lastEvent().notes()).anySatisfy(n -> {
      assertThat(n.state()).isEqualTo("GATE");
      assertThat(n.level()).isEqualTo("INFO");
      assertThat(n.message()).startsWith("waiting at the rollout gate");
    });
    assertThat(onlyReport().notes()).extracting(EventNote::message)
        .anyMatch(m -> m.startsWith("waiting at the rollout gate"));
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    int status = new CommandLine(new HistoryCommand(new PrintStream(text, true, StandardCharsets.UTF_8), System.err))
        .execute("--last", "1", "--config", target.configFile.toString());
    assertThat(status).isZero();
    assertThat(text.toString(StandardCharsets.UTF_8)).contains("note GATE       waiting at the rollout gate");
  }

  private Feedback onlyReport() {
    assertThat(target.server.reports).hasSize(1);
    return Json.read(target.server.reports.values().iterator().next().getBytes(StandardCharsets.UTF_8),
        DocumentType.FEEDBACK, Feedback.class);
  }

  @Test
  void diskBelowTheMinimumIsRefusedBeforeDownload() throws Exception {
    installV1("restart", null);
    target.writeConfig("restart", "");
    String yaml = Files.readString(target.configFile).replace("minFreeDisk: 1MB", "minFreeDisk: 1000TB");
    Files.writeString(target.configFile, yaml);
    publishV2(HEALTHY);
    int blobsBefore = target.server.blobRequests.get();

    Result r = target.engine().runOnce(false);

    assertThat(r.code()).isEqualTo(ErrorCode.DISK_SPACE);
    assertThat(r.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(target.server.blobRequests.get()).isEqualTo(blobsBefore);
    assertThat(target.homeDirs().cache()).isEmptyDirectory();
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(target.server.reports.values()).singleElement().asString().contains("DISK_SPACE");
  }

  @Test
  void reportIsDeliveredLaterAndOnceWhenTheServerWasDown() throws Exception {
    installV1("restart", null);
    target.server.feedbackDown = true;
    publishV2(HEALTHY);

    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.reports).isEmpty();
    assertThat(target.engine().outbox().pending()).hasSize(1);

    target.server.feedbackDown = false;
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(target.server.reports).hasSize(1);
    assertThat(target.engine().outbox().pending()).isEmpty();
    int posts = target.server.feedbackPosts.size();

    target.engine().runOnce(false);
    assertThat(target.server.feedbackPosts).hasSize(posts);
    assertThat(target.server.reports).hasSize(1);
  }

  @Test
  void reportIsDeliveredOnceWhenTheFeedbackServerComesBackAfterBeingUnreachable() throws Exception {
    installV1("restart", null);
    int port;
    try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort(); // nothing listens here until the server "comes back"
    }
    target.writeConfig("restart", "feedback:\n  url: http://127.0.0.1:" + port + "/repo/v1/feedback\n");
    publishV2(HEALTHY);

    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.engine().outbox().pending()).hasSize(1);

    try (io.upgradekit.updater.testsupport.TestRepoServer back =
        new io.upgradekit.updater.testsupport.TestRepoServer(target.repo.dir(), port)) {
      assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
      assertThat(back.reports).hasSize(1);
      assertThat(back.reports.values().iterator().next()).contains("\"toVersion\":\"2.0.0\"");
      target.engine().runOnce(false);
      assertThat(back.feedbackPosts).hasSize(1);
    }
    assertThat(target.engine().outbox().pending()).isEmpty();
  }

  @Test
  void stalledDownloadResumesWithRange() throws Exception {
    installV1("restart", null);
    publishV2(HEALTHY);
    target.server.stallAfterBytes = 100;

    Result stalled = target.engine().runOnce(false);
    assertThat(stalled.code()).as(stalled.message()).isEqualTo(ErrorCode.DOWNLOAD_FAILED);
    assertThat(stalled.message()).contains("stalled");
    try (Stream<Path> files = Files.list(target.homeDirs().cache())) {
      assertThat(files.filter(f -> f.toString().endsWith(".part"))).singleElement()
          .satisfies(f -> assertThat(Files.size(f)).isEqualTo(100));
    }
    assertThat(target.servedVersion()).isEqualTo("1.0.0");

    target.server.stallAfterBytes = -1;
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.rangeHeaders).contains("bytes=100-").doesNotContain("bytes=0-");
  }

  @Test
  void stageOnlyPreheatsThenTheNextRunOnlySwitches() throws Exception {
    installV1("restart", null);
    publishV2(HEALTHY);

    Result staged = target.engine().runOnce(true);
    assertThat(staged.outcome()).as(staged.message()).isEqualTo(Outcome.STAGED);
    assertThat(target.homeDirs().versionsOnDisk()).containsExactly("1.0.0", "2.0.0");
    assertThat(target.homeDirs().currentVersion()).contains("1.0.0");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(lastEvent().steps()).extracting(st -> st.state() + ":" + st.outcome())
        .containsExactly("BEGIN:OK", "RESOLVE:OK", "DOWNLOAD:OK", "STAGE:OK", "END_ACTION:OK");
    assertThat(lastEvent().outcome()).isEqualTo(Outcome.STAGED);

    int blobs = target.server.blobRequests.get();
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.server.blobRequests.get()).isEqualTo(blobs + 1); // the cache was cleared after staging
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
  }

  @Test
  void manualRollbackReturnsToThePreviousVersion() throws Exception {
    installV1("restart", null);
    publishV2(HEALTHY);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);

    Result r = target.engine().rollback();

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(NodeState.read(target.homeDirs().nodeFile()).badReleases()).contains("2.0.0");
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
  }

  @Test
  void gateClaimsASlotBeforeStoppingAndAClosedGateChangesNothingLive() throws Exception {
    installV1("restart", "gate:\n  claims: true\n  scope: wave-1\n  timeout: 1s\n");
    long pid = target.serviceProcesses().get(0).pid();
    publishV2(HEALTHY);
    target.server.claimStatus = 409;

    Result closed = target.engine().runOnce(false);
    assertThat(closed.code()).as(closed.message()).isEqualTo(ErrorCode.GATE_CLOSED);
    assertThat(closed.exitCode()).isEqualTo(1);
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);
    assertThat(target.homeDirs().versionsOnDisk()).contains("2.0.0"); // staged, ready for the next try

    target.server.claimStatus = 201;
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).isEqualTo(Outcome.COMMITTED);
    String basic = "Basic " + java.util.Base64.getEncoder().encodeToString("node-1:test-credential".getBytes());
    assertThat(target.server.claims).last().asString().startsWith(basic + " ")
        .contains("\"version\":\"2.0.0\"", "\"node\":\"node-1\"", "\"scope\":\"wave-1\"");
  }

  @Test
  void aRotatedReleaseKeyIsTrustedThroughTheTrustRootChain() throws Exception {
    installV1("restart", null);
    target.repo.rotateReleaseKey();
    publishV2(HEALTHY); // manifest and pointer signed by the new key only

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.homeDirs().trust().resolve("roots/2.root.json")).exists();
  }

  @Test
  void theSignedRolloutStateOpensTheGateOnlyOnProceed() throws Exception {
    installV1("restart", null);
    target.writeConfig("restart", "gate:\n  rolloutState: true\n  timeout: 1s\n");
    long pid = target.serviceProcesses().get(0).pid();
    publishV2(HEALTHY);
    Instant inAnHour = Instant.now().plus(Duration.ofHours(1));

    // Missing, paused, stale, halted: the gate stays closed and nothing live changes.
    assertThat(target.engine().runOnce(false).message()).contains("no rollout state");
    target.repo.rollout("2.0.0", 1, io.upgradekit.schema.model.RolloutState.Action.PAUSE, inAnHour);
    assertThat(target.engine().runOnce(false).message()).contains("paused");
    target.repo.rollout("2.0.0", 2, io.upgradekit.schema.model.RolloutState.Action.PROCEED,
        Instant.now().minusSeconds(60));
    assertThat(target.engine().runOnce(false).message()).contains("stale");
    target.repo.rollout("2.0.0", 3, io.upgradekit.schema.model.RolloutState.Action.HALT, inAnHour);
    Result halted = target.engine().runOnce(false);
    assertThat(halted.code()).isEqualTo(ErrorCode.GATE_CLOSED);
    assertThat(halted.message()).contains("halted");
    assertThat(target.serviceProcesses()).extracting(ProcessHandle::pid).containsExactly(pid);

    target.repo.rollout("2.0.0", 4, io.upgradekit.schema.model.RolloutState.Action.PROCEED, inAnHour);
    Result r = target.engine().runOnce(false);
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.servedVersion()).isEqualTo("2.0.0");
  }

  @Test
  void aRecallOfTheInstalledReleaseSwitchesBack() throws Exception {
    installV1("restart", null);
    publishV2(HEALTHY);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    target.writeConfig("restart", "gate:\n  rolloutState: true\n  timeout: 1s\n");
    target.repo.rollout("2.0.0", 1, io.upgradekit.schema.model.RolloutState.Action.RECALL,
        Instant.now().plus(Duration.ofHours(1)));

    Result r = target.engine().runOnce(false);

    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.ROLLED_BACK);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
    assertThat(lastEvent().kind()).isEqualTo(EventKind.RECALL);
    assertThat(NodeState.read(target.homeDirs().nodeFile()).badReleases()).contains("2.0.0");
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
  }

  @Test
  void aDamagedStateFileIsRecoveredNotMistakenForARefusal() throws Exception {
    installV1("restart", null);
    Files.writeString(target.homeDirs().nodeFile(), "{\"previous\": ");

    Result r = target.engine().runOnce(false);

    // Moved aside and rebuilt (DamagedStateTest has every file and kind of damage): the run goes on.
    assertThat(r.outcome()).as(r.message()).isEqualTo(Outcome.UP_TO_DATE);
    assertThat(r.exitCode()).isZero();
    assertThat(lastEvent().errorCode()).isEqualTo(ErrorCode.STATE_RECOVERED.name());
    assertThat(lastEvent().message()).contains("node.json");
    assertThat(target.servedVersion()).isEqualTo("1.0.0");
  }

  @Test
  void retentionPrunesOldVersionsButKeepsCurrentAndPrevious() throws Exception {
    installV1("restart", "retention: 2\n");
    publishV2(HEALTHY);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    Release v3 = target.repo.publish("3.0.0", 3, TestTarget.files("3.0.0", HEALTHY), "2.0.0");
    target.repo.point("stable", v3);
    assertThat(target.engine().runOnce(false).outcome()).isEqualTo(Outcome.COMMITTED);
    assertThat(target.homeDirs().versionsOnDisk()).containsExactly("2.0.0", "3.0.0");
  }
}
