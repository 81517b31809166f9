package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.FleetStatus;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.layout.RepositoryLayout;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rollout layer over real HTTP: heartbeats, the controller's loop, leases and the operators' API. */
class RolloutApiTest {
  static final String OPERATOR = "operator-token-for-tests-0123456789";
  static final String VIEWER = "viewer-token-for-tests-01234567890";
  static final String[] NODES = {"n1", "n2", "n3", "n4"};

  static Path secret(Path dir, String name, String content) throws Exception {
    Path file = dir.resolve(name);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, content);
    return file;
  }

  static void publish(TestRepository repo, Path root) throws Exception {
    repo.install(root);
    publishRelease(repo, root);
  }

  /** Release 2.0 of shop with a plan (batches, min available 50%, bake 10 min) on stable, the repository installed. */
  static void publishRelease(TestRepository repo, Path root) throws Exception {
    byte[] pkg = "package 2.0".getBytes(StandardCharsets.UTF_8);
    String sha = Hashes.sha256(pkg);
    ReleaseManifest manifest = ReleaseManifest.of("shop", "2.0", 2, Instant.now().truncatedTo(ChronoUnit.SECONDS),
        TestRepository.EXPIRES, new PayloadTree(List.of(TreeEntry.file("app.jar", pkg.length, sha, false))),
        new BlobRef(sha, pkg.length), List.of(), new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, 50, 600L, null),
        null);
    byte[] manifestBytes = Envelopes.sign(DocumentType.RELEASE, manifest, List.of(repo.releaseKey));
    try (DirectoryStore store = new DirectoryStore(root)) {
      store.create(RepositoryLayout.releaseManifest("shop", "2.0"), manifestBytes);
      store.create(RepositoryLayout.channelPointer("shop", "stable"), repo.pointer("shop", "stable", "2.0", 2,
          manifestBytes));
    }
  }

  HttpResponse<String> asOperator(ServerFixture server, String token, String path, byte[] body) throws Exception {
    HttpRequest.Builder b = server.request(path).header("Authorization", "Bearer " + token);
    return server.send(body == null ? b.GET().build() : b.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }

  @Test
  void aRolloutRunsOverHttpAndOperatorsSteerIt(@TempDir Path dir) throws Exception {
    Path root = Files.createDirectory(dir.resolve("repo"));
    TestRepository repo = new TestRepository();
    publish(repo, root);
    Path key = secret(dir, "rollout.key", repo.releaseKey.toPem());
    Path operators = secret(dir, "operators", "# name role token\nalice operator " + OPERATOR + "\nbob viewer "
        + VIEWER + "\n");
    try (ServerFixture server = new ServerFixture(root, b -> b.rolloutKeyFile(key).operatorCredentialsFile(operators)
        .controllerInterval(Duration.ofMillis(100)).rolloutStartDelay(Duration.ofSeconds(1)).instance("test-a"))) {
      for (String node : NODES) {
        Heartbeat hb = new Heartbeat(node, "shop", "stable", "1.0", Map.of("zone", "a"), "IDLE", true, 0.0, 0.01,
            30, Instant.now());
        assertThat(server.postAsNode("/v1/heartbeats", node, ApiBody.HEARTBEAT.write(hb)).statusCode()).isEqualTo(200);
      }
      Heartbeat other = new Heartbeat("n2", "shop", "stable", "1.0", null, "IDLE", null, null, null, 30, Instant.now());
      assertThat(server.postAsNode("/v1/heartbeats", "n1", ApiBody.HEARTBEAT.write(other)).statusCode()).isEqualTo(403);
      assertThat(server.send(server.request("/v1/heartbeats").POST(HttpRequest.BodyPublishers.ofByteArray(
          ApiBody.HEARTBEAT.write(other))).build()).statusCode()).isEqualTo(401);
      assertThat(server.postAsNode("/v1/heartbeats", "n1", new byte[9000]).statusCode()).isEqualTo(413);

      RolloutReport report = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline) {
        HttpResponse<String> answer = asOperator(server, VIEWER, "/v1/rollouts/shop/2.0", null);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        report = ApiBody.ROLLOUT_REPORT.read(answer.body().getBytes(StandardCharsets.UTF_8));
        if (report.openWaves() == 1 && report.stateSequence() != null) {
          break;
        }
        Thread.sleep(50);
      }
      assertThat(report.status()).isEqualTo("active");
      assertThat(report.openWaves()).isEqualTo(1);
      assertThat(report.budget()).isEqualTo(2);
      assertThat(report.waves().get(0).nodes()).singleElement().satisfies(n -> assertThat(n.state()).isEqualTo("pending"));
      String canary = report.waves().get(0).nodes().get(0).node();
      String later = report.waves().get(1).nodes().get(0).node();
      long decisions = report.decisions().size();

      // nodes follow the signed state; the static file is served, the decisions are not
      HttpResponse<String> state = server.get("/apps/shop/rollout/2.0.json");
      assertThat(state.statusCode()).isEqualTo(200);
      new MetadataVerifier(repo.root, Clock.systemUTC()).verifyRolloutState(state.body().getBytes(
          StandardCharsets.UTF_8), "shop", "2.0", 0);
      assertThat(server.get("/rollouts/shop/2.0/decisions/1.json").statusCode()).isEqualTo(404);
      assertThat(server.get("/fleet/inventory/test-a.json").statusCode()).isEqualTo(404);

      HttpResponse<String> waiting = server.postAsNode("/v1/leases", later, ApiBody.LEASE_REQUEST.write(
          LeaseRequest.ask("shop", "2.0", later, LeaseGrant.Kind.UPGRADE)));
      assertThat(ApiBody.LEASE_ANSWER.read(waiting.body().getBytes(StandardCharsets.UTF_8)).code())
          .isEqualTo("WAVE_NOT_OPEN");
      LeaseAnswer granted = ApiBody.LEASE_ANSWER.read(server.postAsNode("/v1/leases", canary, ApiBody.LEASE_REQUEST
          .write(LeaseRequest.ask("shop", "2.0", canary, LeaseGrant.Kind.UPGRADE))).body().getBytes(StandardCharsets.UTF_8));
      LeaseGrant grant = new MetadataVerifier(repo.root, Clock.systemUTC()).verifyLeaseGrant(
          granted.grant().getBytes(StandardCharsets.UTF_8), "shop", "2.0", canary);
      LeaseRequest confirm = new LeaseRequest("shop", "2.0", canary, LeaseGrant.Kind.UPGRADE, grant.slot(),
          grant.generation(), null);
      assertThat(server.postAsNode("/v1/leases/confirm", canary, ApiBody.LEASE_REQUEST.write(confirm)).statusCode())
          .isEqualTo(200);
      LeaseRequest fenced = new LeaseRequest("shop", "2.0", canary, LeaseGrant.Kind.UPGRADE, grant.slot(),
          grant.generation() + 1, "COMMITTED");
      HttpResponse<String> lost = server.postAsNode("/v1/leases/release", canary, ApiBody.LEASE_REQUEST.write(fenced));
      assertThat(lost.statusCode()).isEqualTo(409);
      assertThat(ApiBody.ERROR.read(lost.body().getBytes(StandardCharsets.UTF_8)).code()).isEqualTo("LEASE_LOST");

      // forged and unauthenticated actions change nothing
      byte[] pause = ApiBody.ROLLOUT_ACTION.write(new RolloutAction(RolloutAction.Action.PAUSE, "db maintenance",
          null, null));
      String actions = "/v1/rollouts/shop/2.0/actions";
      assertThat(asOperator(server, VIEWER, actions, pause).statusCode()).isEqualTo(403);
      assertThat(asOperator(server, ServerFixture.TOKEN, actions, pause).statusCode()).isEqualTo(403);
      assertThat(server.postAsNode(actions, "n1", pause).statusCode()).isEqualTo(403);
      assertThat(server.send(server.request(actions).POST(HttpRequest.BodyPublishers.ofByteArray(pause)).build())
          .statusCode()).isEqualTo(401);
      assertThat(asOperator(server, "not-a-token-at-all-0123456789", actions, pause).statusCode()).isEqualTo(401);
      assertThat(ApiBody.ROLLOUT_REPORT.read(asOperator(server, VIEWER, "/v1/rollouts/shop/2.0", null).body()
          .getBytes(StandardCharsets.UTF_8)).decisions()).hasSize((int) decisions);

      HttpResponse<String> paused = asOperator(server, OPERATOR, actions, pause);
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(201);
      RolloutDecision d = Json.read(paused.body().getBytes(StandardCharsets.UTF_8), DocumentType.DECISION,
          RolloutDecision.class);
      assertThat(d.actor()).isEqualTo("alice");
      assertThat(d.reason()).isEqualTo("db maintenance");
      assertThat(d.kind()).isEqualTo(RolloutDecision.Kind.PAUSE);
      assertThat(asOperator(server, OPERATOR, actions, pause).statusCode()).as("paused already").isEqualTo(400);
      LeaseAnswer wait = ApiBody.LEASE_ANSWER.read(server.postAsNode("/v1/leases", later, ApiBody.LEASE_REQUEST
          .write(LeaseRequest.ask("shop", "2.0", later, LeaseGrant.Kind.UPGRADE))).body().getBytes(StandardCharsets.UTF_8));
      assertThat(wait.code()).isEqualTo("ROLLOUT_PAUSED");

      assertThat(asOperator(server, VIEWER, "/v1/rollouts", null).body()).contains("\"status\":\"active\"",
          "\"paused\":true");
      String metrics = server.get("/metrics").body();
      assertThat(metrics).contains("upgradekit_rollouts{status=\"active\"} 1", "upgradekit_heartbeats_total{outcome=\"accepted\"} 4",
          "upgradekit_leases_granted_total 1", "upgradekit_inventory_nodes{available=\"true\"} 4",
          "upgradekit_rollout_slots_budget{app=\"shop\",version=\"2.0\"} 2");
      FleetStatus status = ApiBody.FLEET_STATUS.read(server.get("/v1/status").body().getBytes(StandardCharsets.UTF_8));
      assertThat(status.controller()).startsWith("the rollout controller runs every 100 ms with rollout key");

      // the operator's commands call the same API
      Path token = secret(dir, "alice.token", OPERATOR + "\n");
      String[] target = {"--server", server.uri("/").toString(), "--operator-token-file", token.toString()};
      java.io.StringWriter out = new java.io.StringWriter();
      java.io.StringWriter err = new java.io.StringWriter();
      picocli.CommandLine cli = io.upgradekit.server.cli.ServerMainAccess.commandLine();
      cli.setOut(new java.io.PrintWriter(out, true));
      cli.setErr(new java.io.PrintWriter(err, true));
      assertThat(cli.execute(concat(new String[] {"rollout", "status"}, target))).as(err.toString()).isZero();
      assertThat(out.toString()).contains("shop", "2.0", "active*", "1/3", "* paused by an operator");
      out.getBuffer().setLength(0);
      assertThat(cli.execute(concat(new String[] {"rollout", "status", "--app", "shop", "--version", "2.0"}, target)))
          .as(err.toString()).isZero();
      assertThat(out.toString()).contains("shop 2.0: active (paused)", "slots 1 of 2 busy", "1. the canary wave [open]",
          canary, "updating", "judge: NO_VERDICT", "pause by alice: db maintenance");
      out.getBuffer().setLength(0);
      assertThat(cli.execute(concat(new String[] {"rollout", "resume", "--app", "shop", "--version", "2.0", "--reason",
          "maintenance over"}, target))).as(err.toString()).isZero();
      assertThat(out.toString()).contains("resume by alice (maintenance over)");
      assertThat(cli.execute(concat(new String[] {"rollout", "resume", "--app", "shop", "--version", "2.0", "--reason",
          "again"}, target))).isEqualTo(2);
      assertThat(err.toString()).contains("REQUEST_INVALID: the action does not apply: it is neither paused nor halted");
    }
  }

  static String[] concat(String[] a, String[] b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  @Test
  void aNodeHeldAtCallsIsAnsweredWhenItsWaveOpensAndAStopAnswersTheRestAtOnce(@TempDir Path dir) throws Exception {
    Path root = Files.createDirectory(dir.resolve("repo"));
    TestRepository repo = new TestRepository();
    Path key = secret(dir, "rollout.key", repo.releaseKey.toPem());
    repo.install(root);
    ServerFixture server = new ServerFixture(root, b -> b.rolloutKeyFile(key).controllerInterval(Duration.ofMillis(200))
        .rolloutStartDelay(Duration.ofSeconds(1)).instance("test-a"));
    try {
      for (String node : NODES) {
        Heartbeat hb = new Heartbeat(node, "shop", "stable", "1.0", Map.of(), "IDLE", true, null, null, 30,
            Instant.now());
        assertThat(server.postAsNode("/v1/heartbeats", node, ApiBody.HEARTBEAT.write(hb)).statusCode()).isEqualTo(200);
      }
      assertThat(server.get("/v1/calls?app=shop&channel=stable&wait=1").statusCode()).as("unauthenticated")
          .isEqualTo(401);
      assertThat(server.send(server.request("/v1/calls?channel=stable").header("Authorization",
          ServerFixture.nodeAuth("n1")).GET().build()).statusCode()).as("no app").isEqualTo(400);

      // Every node waits for a call before the release is published; the rollout then starts and
      // opens the canary wave, which calls its node, while the others wait on.
      Map<String, java.util.concurrent.CompletableFuture<HttpResponse<String>>> held = new java.util.LinkedHashMap<>();
      for (String node : NODES) {
        held.put(node, server.client.sendAsync(server.request("/v1/calls?app=shop&channel=stable&version=1.0&wait=20")
            .header("Authorization", ServerFixture.nodeAuth(node)).GET().build(), HttpResponse.BodyHandlers.ofString()));
      }
      Thread.sleep(300);
      assertThat(held.values()).as("held").noneMatch(java.util.concurrent.CompletableFuture::isDone);
      long published = System.nanoTime();
      publishRelease(repo, root);
      java.util.concurrent.CompletableFuture.anyOf(held.values().toArray(java.util.concurrent.CompletableFuture[]::new))
          .get(15, java.util.concurrent.TimeUnit.SECONDS);
      double seconds = (System.nanoTime() - published) / 1e9;
      String canary = startDecision(root).waves().get(0).get(0);
      HttpResponse<String> called = held.get(canary).getNow(null);
      assertThat(called).as("the canary was called first, %.1f s after the publication", seconds).isNotNull();
      io.upgradekit.schema.api.NodeCall call = ApiBody.NODE_CALL.read(called.body().getBytes(StandardCharsets.UTF_8));
      assertThat(call.call()).isTrue();
      assertThat(call.reason()).isEqualTo("the canary wave of shop 2.0 is open");
      assertThat(held.entrySet()).filteredOn(e -> !e.getKey().equals(canary))
          .allSatisfy(e -> assertThat(e.getValue()).isNotDone());

      // The server stops: the held requests are answered at once, not after their 20 s.
      long stopping = System.nanoTime();
      server.close();
      for (var e : held.entrySet()) {
        if (!e.getKey().equals(canary)) {
          HttpResponse<String> answer = e.getValue().get(10, java.util.concurrent.TimeUnit.SECONDS);
          assertThat(ApiBody.NODE_CALL.read(answer.body().getBytes(StandardCharsets.UTF_8)).call()).isFalse();
        }
      }
      assertThat(Duration.ofNanos(System.nanoTime() - stopping)).isLessThan(Duration.ofSeconds(10));
    } finally {
      server.close();
    }
  }

  /** The rollout's START decision, as stored. */
  private static RolloutDecision startDecision(Path root) throws Exception {
    try (var files = Files.list(root.resolve(RepositoryLayout.rolloutDecisions("shop", "2.0")))) {
      for (Path f : files.filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        RolloutDecision d = Json.read(Files.readAllBytes(f), DocumentType.DECISION, RolloutDecision.class);
        if (d.kind() == RolloutDecision.Kind.START) {
          return d;
        }
      }
    }
    throw new AssertionError("no START decision stored");
  }

  @Test
  void withoutAKeyTheServerSaysItRunsNoControllerAndWithoutOperatorCredentialsTheApiIsRefused(@TempDir Path root)
      throws Exception {
    new TestRepository().install(root);
    try (ServerFixture server = new ServerFixture(root)) {
      FleetStatus status = ApiBody.FLEET_STATUS.read(server.get("/v1/status").body().getBytes(StandardCharsets.UTF_8));
      assertThat(status.controller()).startsWith("no rollout controller");
      HttpResponse<String> refused = asOperator(server, OPERATOR, "/v1/rollouts", null);
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.body()).contains("--operator-credentials");
    }
  }
}
