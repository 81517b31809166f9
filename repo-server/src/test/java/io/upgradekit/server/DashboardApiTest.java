package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.InventoryPage;
import io.upgradekit.schema.api.NodeHistory;
import io.upgradekit.schema.api.ReleaseOverview;
import io.upgradekit.schema.api.RolloutAction;
import io.upgradekit.schema.api.RolloutReport;
import io.upgradekit.schema.api.RolloutSeries;
import io.upgradekit.schema.api.Session;
import io.upgradekit.schema.api.SessionRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard over real HTTP: login and the session cookie's flags, CSRF and viewer refusals,
 * the pages' security headers, the read views it polls (with ETags) and what hostile node input
 * looks like on the way out.
 */
class DashboardApiTest {
  static final String OPERATOR = RolloutApiTest.OPERATOR;
  static final String VIEWER = RolloutApiTest.VIEWER;
  static final String HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=\"alert(1)\">";

  /** The keys of the repository {@link #start} made last. */
  static volatile TestRepository lastRepository;

  static ServerFixture start(Path dir, UnaryOperator<io.upgradekit.server.ServerConfig.Builder> more) throws Exception {
    Path root = Files.createDirectory(dir.resolve("repo"));
    TestRepository repo = new TestRepository();
    lastRepository = repo;
    RolloutApiTest.publish(repo, root);
    Path key = RolloutApiTest.secret(dir, "rollout.key", repo.releaseKey.toPem());
    Path operators = RolloutApiTest.secret(dir, "operators", "alice operator " + OPERATOR + "\nbob viewer " + VIEWER
        + "\n");
    return new ServerFixture(root, b -> more.apply(b.rolloutKeyFile(key).operatorCredentialsFile(operators)
        .controllerInterval(Duration.ofMillis(100)).rolloutStartDelay(Duration.ofMillis(500)).instance("dash")));
  }

  static HttpResponse<String> login(ServerFixture server, String token, String... headers) throws Exception {
    HttpRequest.Builder b = server.request("/v1/sessions").POST(HttpRequest.BodyPublishers.ofByteArray(
        ApiBody.SESSION_REQUEST.write(new SessionRequest(token)))).header("Content-Type", "application/json");
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return server.send(b.build());
  }

  static String cookie(HttpResponse<String> login) {
    return login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
  }

  static HttpResponse<String> withCookie(ServerFixture server, String cookie, String method, String path, byte[] body,
      String... headers) throws Exception {
    HttpRequest.Builder b = server.request(path).header("Cookie", cookie).method(method,
        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return server.send(b.build());
  }

  static void heartbeat(ServerFixture server, String node, String version, Map<String, String> labels, boolean healthy)
      throws Exception {
    Heartbeat hb = new Heartbeat(node, "shop", "stable", version, labels, "IDLE", healthy, 0.001, 0.02, 30,
        Instant.now());
    HttpResponse<String> answer = server.postAsNode("/v1/heartbeats", node, ApiBody.HEARTBEAT.write(hb));
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
  }

  static RolloutReport awaitStart(ServerFixture server) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      HttpResponse<String> answer = server.send(server.request("/v1/rollouts/shop/2.0")
          .header("Authorization", "Bearer " + VIEWER).build());
      RolloutReport report = ApiBody.ROLLOUT_REPORT.read(answer.body().getBytes(StandardCharsets.UTF_8));
      if (report.openWaves() > 0 || System.nanoTime() > deadline) {
        return report;
      }
      Thread.sleep(50);
    }
  }

  @Test
  void operatorsLogInAndActWithTheirCsrfTokenAndNothingElseActs(@TempDir Path dir) throws Exception {
    try (ServerFixture server = start(dir, b -> b)) {
      for (String node : RolloutApiTest.NODES) {
        heartbeat(server, node, "1.0", Map.of("zone", "a"), true);
      }
      assertThat(awaitStart(server).openWaves()).isEqualTo(1);

      HttpResponse<String> wrong = login(server, "not-an-operator-token-0123456789");
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(wrong.headers().firstValue("Set-Cookie")).isEmpty();
      assertThat(login(server, ServerFixture.TOKEN).statusCode()).as("the publisher is no operator").isEqualTo(401);
      assertThat(login(server, OPERATOR, "Sec-Fetch-Site", "cross-site").statusCode()).isEqualTo(403);

      HttpResponse<String> alice = login(server, OPERATOR);
      assertThat(alice.statusCode()).as(alice.body()).isEqualTo(201);
      String setCookie = alice.headers().firstValue("Set-Cookie").orElseThrow();
      assertThat(setCookie).startsWith("upgradekit_session=").contains("; HttpOnly", "; SameSite=Strict", "; Path=/")
          .doesNotContain("Secure");
      assertThat(login(server, OPERATOR, "X-Forwarded-Proto", "https").headers().firstValue("Set-Cookie")
          .orElseThrow()).contains("; Secure");
      Session session = ApiBody.SESSION.read(alice.body().getBytes(StandardCharsets.UTF_8));
      assertThat(session.operator()).isEqualTo("alice");
      assertThat(session.role()).isEqualTo("operator");
      String cookie = cookie(alice);
      assertThat(alice.body()).doesNotContain(cookie.substring(cookie.indexOf('=') + 1));

      HttpResponse<String> current = withCookie(server, cookie, "GET", "/v1/sessions/current", null);
      assertThat(ApiBody.SESSION.read(current.body().getBytes(StandardCharsets.UTF_8)).csrfToken())
          .isEqualTo(session.csrfToken());
      assertThat(server.get("/v1/sessions/current").statusCode()).isEqualTo(401);
      assertThat(withCookie(server, cookie, "GET", "/v1/rollouts", null).statusCode()).isEqualTo(200);

      String actions = "/v1/rollouts/shop/2.0/actions";
      byte[] pause = ApiBody.ROLLOUT_ACTION.write(new RolloutAction(RolloutAction.Action.PAUSE, "maintenance", null,
          null));
      int decisions = awaitStart(server).decisions().size();
      assertThat(server.send(server.request(actions).POST(HttpRequest.BodyPublishers.ofByteArray(pause)).build())
          .statusCode()).as("no login").isEqualTo(401);
      HttpResponse<String> noCsrf = withCookie(server, cookie, "POST", actions, pause);
      assertThat(noCsrf.statusCode()).isEqualTo(403);
      assertThat(noCsrf.body()).contains("ACCESS_DENIED", "X-CSRF-Token");
      assertThat(withCookie(server, cookie, "POST", actions, pause, "X-CSRF-Token", "A".repeat(43)).statusCode())
          .isEqualTo(403);
      assertThat(withCookie(server, cookie, "POST", actions, pause, "X-CSRF-Token", session.csrfToken(),
          "Sec-Fetch-Site", "cross-site").statusCode()).isEqualTo(403);
      assertThat(withCookie(server, "upgradekit_session=" + "B".repeat(43), "POST", actions, pause, "X-CSRF-Token",
          session.csrfToken()).statusCode()).as("a forged session").isEqualTo(401);
      assertThat(awaitStart(server).decisions()).as("nothing was stored").hasSize(decisions);

      HttpResponse<String> bob = login(server, VIEWER);
      Session viewer = ApiBody.SESSION.read(bob.body().getBytes(StandardCharsets.UTF_8));
      assertThat(viewer.role()).isEqualTo("viewer");
      assertThat(withCookie(server, cookie(bob), "GET", "/v1/rollouts/shop/2.0", null).statusCode()).isEqualTo(200);
      HttpResponse<String> refused = withCookie(server, cookie(bob), "POST", actions, pause, "X-CSRF-Token",
          viewer.csrfToken());
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.body()).contains("viewer");

      HttpResponse<String> paused = withCookie(server, cookie, "POST", actions, pause, "X-CSRF-Token",
          session.csrfToken(), "Sec-Fetch-Site", "same-origin");
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(201);
      assertThat(paused.body()).contains("\"actor\":\"alice\"", "\"kind\":\"pause\"");
      assertThat(awaitStart(server).paused()).isTrue();

      assertThat(withCookie(server, cookie, "DELETE", "/v1/sessions/current", null).statusCode()).isEqualTo(403);
      HttpResponse<String> out = withCookie(server, cookie, "DELETE", "/v1/sessions/current", null, "X-CSRF-Token",
          session.csrfToken());
      assertThat(out.statusCode()).isEqualTo(204);
      assertThat(out.headers().firstValue("Set-Cookie").orElseThrow()).contains("upgradekit_session=;", "Max-Age=0");
      assertThat(withCookie(server, cookie, "GET", "/v1/rollouts", null).statusCode()).isEqualTo(401);
    }
  }

  @Test
  void thePagesComeWithAStrictPolicyAndCanBeTurnedOff(@TempDir Path dir) throws Exception {
    try (ServerFixture server = start(dir, b -> b)) {
      for (String file : List.of("/ui/", "/ui/app.js", "/ui/app.css")) {
        HttpResponse<String> page = server.get(file);
        assertThat(page.statusCode()).as(file).isEqualTo(200);
        String csp = page.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertThat(csp).contains("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'")
            .doesNotContain("unsafe-inline", "unsafe-eval", "http:", "https:");
        assertThat(page.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
        assertThat(page.headers().firstValue("X-Frame-Options")).contains("DENY");
        String etag = page.headers().firstValue("ETag").orElseThrow();
        assertThat(server.send(server.request(file).header("If-None-Match", etag).build()).statusCode()).isEqualTo(304);
      }
      String html = server.get("/ui/").body();
      assertThat(html).doesNotContain("style=", "onclick", "onload", "<style", "http://", "https://");
      assertThat(html.replace("<script src=\"app.js\" defer></script>", "")).doesNotContain("<script");
      String js = server.get("/ui/app.js").body();
      assertThat(js.replace("'http://www.w3.org/2000/svg'", "")).doesNotContain("innerHTML", "outerHTML",
          "insertAdjacentHTML", "document.write", "eval(", "http://", "https://");
      assertThat(server.get("/ui/app.js").headers().firstValue("Content-Type")).contains("text/javascript; charset=utf-8");
      assertThat(server.send(server.request("/ui").build()).statusCode()).isEqualTo(302);
      assertThat(server.get("/ui/%2e%2e/root.json").statusCode()).isIn(400, 404);
      assertThat(server.get("/ui/secret.txt").statusCode()).isEqualTo(404);
      assertThat(server.send(server.request("/ui/").POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode())
          .isEqualTo(405);
    }
    try (ServerFixture server = start(dir.resolve("off").toFile().mkdirs() ? dir.resolve("off") : dir,
        b -> b.dashboard(false))) {
      assertThat(server.get("/ui/").statusCode()).isEqualTo(404);
      assertThat(login(server, OPERATOR).statusCode()).isEqualTo(403);
      assertThat(server.send(server.request("/v1/rollouts").header("Authorization", "Bearer " + OPERATOR).build())
          .statusCode()).as("the API stays").isEqualTo(200);
    }
  }

  @Test
  void theReadViewsPageFilterAndTagTheirAnswersAndPassHostileTextOnAsJsonText(@TempDir Path dir) throws Exception {
    try (ServerFixture server = start(dir, b -> b)) {
      heartbeat(server, "n1", "1.0", Map.of("zone", "a"), true);
      heartbeat(server, "n2", "1.0", Map.of("zone", "b"), false);
      heartbeat(server, "n3", "2.0", Map.of("zone", "a", "rack", "r7"), true);
      heartbeat(server, "n4", "1.0", Map.of("zone", "b"), true);
      Heartbeat hostile = new Heartbeat("n4", "shop", "stable", "1.0", Map.of("zone", "a"), "IDLE", true, null, null, 30,
          Instant.now());
      String label = new String(ApiBody.HEARTBEAT.write(hostile), StandardCharsets.UTF_8).replace("\"zone\":\"a\"",
          "\"zone\":\"<script>alert(1)</script>\"");
      HttpResponse<String> refused = server.postAsNode("/v1/heartbeats", "n4", label.getBytes(StandardCharsets.UTF_8));
      assertThat(refused.statusCode()).as("markup in a label is refused").isEqualTo(400);

      Instant t = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      Feedback report = new Feedback("feedback", "ev1", 3, "n2", "shop", "1.0", "2.0", "END", "ROLLED_BACK",
          List.of(new StepReport("DOWNLOAD", t.minusSeconds(9), 1200, "OK", null, null),
              new StepReport("VERIFY", t.minusSeconds(7), 5000, "FAILED", "HEALTH_CHECK_FAILED", HOSTILE)),
          "HEALTH_CHECK_FAILED", HOSTILE, Map.of("baseline.error_rate", 0.001, "watch.error_rate", 0.2), t);
      assertThat(server.postAsNode("/v1/feedback", "n2", Json.canonicalBytes(report)).statusCode()).isEqualTo(201);

      String auth = "Bearer " + VIEWER;
      HttpResponse<String> answer = server.send(server.request("/v1/nodes/n2").header("Authorization", auth).build());
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
      assertThat(answer.headers().firstValue("Content-Type")).contains("application/json");
      assertThat(answer.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
      NodeHistory node = ApiBody.NODE_HISTORY.read(answer.body().getBytes(StandardCharsets.UTF_8));
      assertThat(node.apps()).singleElement().satisfies(a -> assertThat(a.healthy()).isFalse());
      NodeHistory.Event event = node.events().get(0);
      assertThat(event.message()).isEqualTo(HOSTILE);
      assertThat(event.fix()).contains("retry the node");
      assertThat(event.steps().get(1).fix()).contains("retry the node");
      assertThat(event.steps()).extracting(NodeHistory.Step::state).containsExactly("DOWNLOAD", "VERIFY");
      assertThat(event.metrics()).containsEntry("watch.error_rate", 0.2);
      assertThat(server.send(server.request("/v1/nodes/nobody").header("Authorization", auth).build()).statusCode())
          .isEqualTo(404);
      assertThat(server.send(server.request("/v1/nodes/n2").build()).statusCode()).isEqualTo(401);

      InventoryPage all = inventory(server, auth, "");
      assertThat(all.total()).isEqualTo(4);
      assertThat(all.versions()).containsEntry("shop", Map.of("1.0", 3, "2.0", 1));
      assertThat(all.nodes()).extracting(InventoryPage.Row::node).containsExactly("n1", "n2", "n3", "n4");
      assertThat(all.nodes().get(1).lastOutcome()).isEqualTo("ROLLED_BACK");
      assertThat(inventory(server, auth, "?label=zone=a&sort=version&order=desc").nodes())
          .extracting(InventoryPage.Row::node).containsExactly("n3", "n1");
      assertThat(inventory(server, auth, "?status=unhealthy").nodes()).extracting(InventoryPage.Row::node)
          .containsExactly("n2");
      assertThat(inventory(server, auth, "?status=failed").nodes()).extracting(InventoryPage.Row::node)
          .containsExactly("n2");
      InventoryPage second = inventory(server, auth, "?limit=2&offset=2");
      assertThat(second.matched()).isEqualTo(4);
      assertThat(second.nodes()).extracting(InventoryPage.Row::node).containsExactly("n3", "n4");
      assertThat(inventory(server, auth, "?q=r7").nodes()).extracting(InventoryPage.Row::node).containsExactly("n3");
      for (String bad : List.of("?limit=0", "?limit=501", "?sort=secret", "?label=zone", "?offset=-1", "?app=..%2Fx",
          "?status=%3Cscript%3E")) {
        HttpResponse<String> no = server.send(server.request("/v1/inventory" + bad).header("Authorization", auth).build());
        assertThat(no.statusCode()).as(bad).isEqualTo(400);
        // a refusal may quote what it refused: as JSON that no browser renders
        assertThat(no.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(no.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
      }

      // polling costs a 304 while nothing changed, and a fresh answer when a node speaks
      HttpResponse<String> first = server.send(server.request("/v1/inventory").header("Authorization", auth).build());
      String etag = first.headers().firstValue("ETag").orElseThrow();
      HttpResponse<String> same = server.send(server.request("/v1/inventory").header("Authorization", auth)
          .header("If-None-Match", etag).build());
      assertThat(same.statusCode()).isEqualTo(304);
      assertThat(same.body()).isEmpty();
      Thread.sleep(1100);
      heartbeat(server, "n1", "1.0", Map.of("zone", "a"), true);
      HttpResponse<String> changed = server.send(server.request("/v1/inventory").header("Authorization", auth)
          .header("If-None-Match", etag).build());
      assertThat(changed.statusCode()).isEqualTo(200);
      assertThat(changed.headers().firstValue("ETag").orElseThrow()).isNotEqualTo(etag);

      awaitStart(server);
      HttpResponse<String> cut = server.send(server.request("/v1/rollouts/shop/2.0?nodesPerWave=1")
          .header("Authorization", auth).build());
      RolloutReport report2 = ApiBody.ROLLOUT_REPORT.read(cut.body().getBytes(StandardCharsets.UTF_8));
      assertThat(report2.waves()).allSatisfy(w -> assertThat(w.nodes().size()).isLessThanOrEqualTo(1));
      assertThat(report2.waves().stream().mapToInt(RolloutReport.Wave::size).sum()).isEqualTo(4);
      String reportTag = cut.headers().firstValue("ETag").orElseThrow();
      assertThat(server.send(server.request("/v1/rollouts/shop/2.0?nodesPerWave=1").header("Authorization", auth)
          .header("If-None-Match", reportTag).build()).statusCode()).isIn(200, 304);

      RolloutSeries series = ApiBody.ROLLOUT_SERIES.read(server.send(server.request("/v1/rollouts/shop/2.0/series")
          .header("Authorization", auth).build()).body().getBytes(StandardCharsets.UTF_8));
      assertThat(series.points()).isNotEmpty();
      // the buckets are 5 s wide: the heartbeats above fall into one or two of them
      assertThat(series.bucketSeconds()).isEqualTo(5);
      assertThat(series.points()).extracting(RolloutSeries.Point::upgradedNodes).as("n3 runs 2.0").contains(1)
          .allMatch(n -> n <= 1);
      assertThat(series.points().stream().mapToInt(RolloutSeries.Point::baselineNodes).max().orElse(0))
          .isBetween(1, 3);
      assertThat(series.points()).filteredOn(p -> p.upgradedNodes() > 0)
          .allSatisfy(p -> assertThat(p.upgradedErrorRate()).isEqualTo(0.001));

      ReleaseOverview releases = ApiBody.RELEASE_OVERVIEW.read(server.send(server.request("/v1/releases")
          .header("Authorization", auth).build()).body().getBytes(StandardCharsets.UTF_8));
      assertThat(releases.trustRoot().version()).isEqualTo(1);
      ReleaseOverview.App shop = releases.apps().get(0);
      assertThat(shop.channels()).singleElement().satisfies(c -> {
        assertThat(c.version()).isEqualTo("2.0");
        assertThat(c.keyIds()).hasSize(1);
        assertThat(c.warning()).as("the test pointer expires in a day").contains("expires in");
      });
      assertThat(shop.releases()).singleElement().satisfies(r -> {
        assertThat(r.packageSize()).isEqualTo("package 2.0".length());
        assertThat(r.strategy()).isEqualTo("batches");
        assertThat(r.channels()).containsExactly("stable");
      });

      // the command line reads the same endpoints
      Path token = RolloutApiTest.secret(dir, "bob.token", VIEWER + "\n");
      String[] target = {"--server", server.uri("/").toString(), "--operator-token-file", token.toString()};
      java.io.StringWriter out = new java.io.StringWriter();
      java.io.StringWriter err = new java.io.StringWriter();
      picocli.CommandLine cli = io.upgradekit.server.cli.ServerMainAccess.commandLine();
      cli.setOut(new java.io.PrintWriter(out, true));
      cli.setErr(new java.io.PrintWriter(err, true));
      assertThat(cli.execute(RolloutApiTest.concat(new String[] {"fleet", "inventory", "--label", "zone=a"}, target)))
          .as(err.toString()).isZero();
      assertThat(out.toString()).contains("shop: 1.0 (3) 2.0 (1)", "n1", "n3", "1-2 of 2 matching (4 in all)")
          .doesNotContain("n2 ");
      out.getBuffer().setLength(0);
      assertThat(cli.execute(RolloutApiTest.concat(new String[] {"fleet", "node", "n2"}, target))).as(err.toString())
          .isZero();
      assertThat(out.toString()).contains("node n2", "shop 1.0 -> 2.0: ROLLED_BACK", "HEALTH_CHECK_FAILED",
          "what to do:", "VERIFY");
      out.getBuffer().setLength(0);
      assertThat(cli.execute(RolloutApiTest.concat(new String[] {"fleet", "releases"}, target))).as(err.toString())
          .isZero();
      assertThat(out.toString()).contains("trust root 1", "channel stable -> 2.0", "WARNING: the pointer expires in");
      assertThat(cli.execute(RolloutApiTest.concat(new String[] {"fleet", "inventory", "--status", "bogus"}, target)))
          .isEqualTo(2);
      assertThat(err.toString()).contains("REQUEST_INVALID: status 'bogus' is not one of");
    }
  }

  static InventoryPage inventory(ServerFixture server, String auth, String query) throws Exception {
    HttpResponse<String> answer = server.send(server.request("/v1/inventory" + query).header("Authorization", auth)
        .build());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    return ApiBody.INVENTORY_PAGE.read(answer.body().getBytes(StandardCharsets.UTF_8));
  }
}
