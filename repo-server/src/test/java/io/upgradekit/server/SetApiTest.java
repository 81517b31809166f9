package io.upgradekit.server;

import static io.upgradekit.server.RolloutApiTest.concat;
import static io.upgradekit.server.RolloutApiTest.secret;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.SetList;
import io.upgradekit.schema.api.SetReport;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.DirectoryStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Release sets over real HTTP: the operators' set API, its commands, and the set state served to nodes. */
class SetApiTest {
  static void publish(TestRepository repo, Path root) throws Exception {
    repo.install(root);
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    try (DirectoryStore store = new DirectoryStore(root)) {
      for (String app : List.of("database", "api")) {
        byte[] pkg = ("package " + app).getBytes(StandardCharsets.UTF_8);
        String sha = Hashes.sha256(pkg);
        ReleaseManifest manifest = ReleaseManifest.of(app, "2.0", 2, now, TestRepository.EXPIRES,
            new PayloadTree(List.of(TreeEntry.file("app.jar", pkg.length, sha, false))), new BlobRef(sha, pkg.length),
            List.of(), RolloutPlan.of(RolloutPlan.Strategy.ALL).withSet("shop"), null);
        byte[] manifestBytes = Envelopes.sign(DocumentType.RELEASE, manifest, List.of(repo.releaseKey));
        store.create(RepositoryLayout.releaseManifest(app, "2.0"), manifestBytes);
        store.create(RepositoryLayout.channelPointer(app, "stable"), repo.pointer(app, "stable", "2.0", 2,
            manifestBytes));
      }
      ReleaseSet set = ReleaseSet.of("shop", "1", 1, now, TestRepository.EXPIRES, List.of(
          new ReleaseSet.Component("database", "2.0", List.of()),
          new ReleaseSet.Component("api", "2.0", List.of("database"))), ReleaseSet.Strategy.ROLLING,
          ReleaseSet.Rollback.AUTO, List.of(ReleaseSet.Contract.parse("api 2.x requires database >= 2.0")));
      store.create(RepositoryLayout.releaseSet("shop", "1"), Envelopes.sign(DocumentType.RELEASE_SET, set,
          List.of(repo.releaseKey)));
    }
  }

  HttpResponse<String> as(ServerFixture server, String token, String path, byte[] body) throws Exception {
    HttpRequest.Builder b = server.request(path).header("Authorization", "Bearer " + token);
    return server.send(body == null ? b.GET().build() : b.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }

  @Test
  void operatorsSeeAndSteerASetAndNodesReadItsSignedState(@TempDir Path dir) throws Exception {
    Path root = Files.createDirectory(dir.resolve("repo"));
    TestRepository repo = new TestRepository();
    publish(repo, root);
    Path key = secret(dir, "rollout.key", repo.releaseKey.toPem());
    Path operators = secret(dir, "operators", "alice operator " + RolloutApiTest.OPERATOR + "\nbob viewer "
        + RolloutApiTest.VIEWER + "\n");
    try (ServerFixture server = new ServerFixture(root, b -> b.rolloutKeyFile(key).operatorCredentialsFile(operators)
        .controllerInterval(Duration.ofMillis(100)).rolloutStartDelay(Duration.ofMillis(100)).instance("test-a"))) {
      for (String node : List.of("d1", "a1")) {
        String app = node.startsWith("d") ? "database" : "api";
        Heartbeat hb = new Heartbeat(node, app, "stable", "1.0", Map.of(), "IDLE", true, 0.0, 0.01, 30, Instant.now());
        assertThat(server.postAsNode("/v1/heartbeats", node, ApiBody.HEARTBEAT.write(hb)).statusCode()).isEqualTo(200);
      }
      SetReport report = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline) {
        HttpResponse<String> answer = as(server, RolloutApiTest.VIEWER, "/v1/sets/shop/1", null);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        report = ApiBody.SET_REPORT.read(answer.body().getBytes(StandardCharsets.UTF_8));
        if (report.stateSequence() != null && report.components().get(0).status().equals("rolling")
            && report.contracts().get(0).nodes() == 1) {
          break;
        }
        Thread.sleep(50);
      }
      assertThat(report.status()).as(report.toString()).isEqualTo("running");
      assertThat(report.components()).extracting(SetReport.Component::app).containsExactly("database", "api");
      assertThat(report.components().get(1).status()).isEqualTo("waiting");
      assertThat(report.components().get(1).waitingFor()).containsExactly("database");
      assertThat(report.components().get(1).note()).isEqualTo("held: release set shop 1 starts it after database");
      assertThat(report.contracts()).singleElement().satisfies(c -> {
        assertThat(c.met()).isFalse();
        assertThat(c.detail()).isEqualTo("waiting for database >= 2.0: 1 of 1 database nodes run 1.0");
      });
      SetList list = ApiBody.SET_LIST.read(as(server, RolloutApiTest.VIEWER, "/v1/sets", null).body()
          .getBytes(StandardCharsets.UTF_8));
      assertThat(list.sets()).singleElement().satisfies(s -> {
        assertThat(s.name()).isEqualTo("shop");
        assertThat(s.status()).isEqualTo("running");
        assertThat(s.components()).isEqualTo(2);
      });

      assertThat(server.get("/metrics").body()).contains("upgradekit_release_sets{status=\"running\"} 1",
          "upgradekit_set_decisions_total 2");

      // nodes read the set state as a static file; the set's decisions stay private
      HttpResponse<String> state = server.get("/" + RepositoryLayout.setState("shop", "1"));
      assertThat(state.statusCode()).isEqualTo(200);
      SetState verified = new MetadataVerifier(repo.root, Clock.systemUTC()).verifySetState(
          state.body().getBytes(StandardCharsets.UTF_8), "shop", "1", 0);
      assertThat(verified.fleetOf("database")).isEqualTo(new SetState.AppFleet("database", 1, Map.of("1.0", 1)));
      assertThat(server.get("/" + RepositoryLayout.setDecision("shop", "1", 1)).statusCode()).isEqualTo(404);

      // a viewer cannot act; an operator's action is a set decision with who and why
      byte[] pause = ApiBody.ROLLOUT_ACTION.write(new RolloutAction(RolloutAction.Action.PAUSE, "db maintenance",
          null, null));
      assertThat(as(server, RolloutApiTest.VIEWER, "/v1/sets/shop/1/actions", pause).statusCode()).isEqualTo(403);
      assertThat(server.send(server.request("/v1/sets/shop/1/actions").POST(HttpRequest.BodyPublishers
          .ofByteArray(pause)).build()).statusCode()).isEqualTo(401);
      HttpResponse<String> paused = as(server, RolloutApiTest.OPERATOR, "/v1/sets/shop/1/actions", pause);
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(201);
      SetDecision d = Json.read(paused.body().getBytes(StandardCharsets.UTF_8), DocumentType.SET_DECISION,
          SetDecision.class);
      assertThat(d.kind()).isEqualTo(SetDecision.Kind.PAUSE);
      assertThat(d.actor()).isEqualTo("alice");
      assertThat(d.reason()).isEqualTo("db maintenance");
      assertThat(as(server, RolloutApiTest.OPERATOR, "/v1/sets/shop/9/actions", pause).statusCode()).isEqualTo(404);

      // the commands call the same API
      Path token = secret(dir, "alice.token", RolloutApiTest.OPERATOR + "\n");
      String[] target = {"--server", server.uri("/").toString(), "--operator-token-file", token.toString()};
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      picocli.CommandLine cli = io.upgradekit.server.cli.ServerMainAccess.commandLine();
      cli.setOut(new PrintWriter(out, true));
      cli.setErr(new PrintWriter(err, true));
      assertThat(cli.execute(concat(new String[] {"rollout", "status", "--sets"}, target))).as(err.toString())
          .isZero();
      assertThat(out.toString()).contains("SET", "shop", "running*", "0/2", "* paused by an operator");
      out.getBuffer().setLength(0);
      long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      do {
        out.getBuffer().setLength(0);
        assertThat(cli.execute(concat(new String[] {"rollout", "status", "--set", "shop", "--version", "1"}, target)))
            .as(err.toString()).isZero();
      } while (!out.toString().contains("database 2.0") || !out.toString().contains("paused  ")
          && System.nanoTime() < until && sleep());
      assertThat(out.toString()).contains("release set shop 1: running (paused) (rolling, rollback_policy auto)",
          "order: 1. database  2. api", "signed set state #", "api      2.0              waiting    for database",
          "api 2.x requires database >= 2.0: unmet - waiting for database >= 2.0: 1 of 1 database nodes run 1.0",
          "pause by alice: db maintenance [database]");
      out.getBuffer().setLength(0);
      assertThat(cli.execute(concat(new String[] {"rollout", "resume", "--set", "shop", "--version", "1", "--reason",
          "maintenance over"}, target))).as(err.toString()).isZero();
      assertThat(out.toString()).contains("set decision", "resume by alice (maintenance over)");
      assertThat(cli.execute(concat(new String[] {"rollout", "approve", "--set", "shop", "--version", "1", "--reason",
          "no"}, target))).isEqualTo(2);
      assertThat(err.toString()).contains("a release set takes pause, resume, halt and recall");
      assertThat(cli.execute(concat(new String[] {"rollout", "resume", "--set", "shop", "--version", "1", "--reason",
          "again"}, target))).isEqualTo(2);
      assertThat(err.toString()).contains("REQUEST_INVALID: the action does not apply to the set: it is neither paused"
          + " nor halted");
      out.getBuffer().setLength(0);
      assertThat(cli.execute(concat(new String[] {"rollout", "status", "--set", "shop", "--version", "1", "--json"},
          target))).isZero();
      assertThat(ApiBody.SET_REPORT.read(out.toString().strip().getBytes(StandardCharsets.UTF_8)).name())
          .isEqualTo("shop");
    }
  }

  private static boolean sleep() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return true;
  }
}
