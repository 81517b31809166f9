package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.LeaseAnswer;
import io.upgradekit.schema.api.LeaseRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.DeltaRef;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.EventNote;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.DirectoryStore;
import java.io.File;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's chromium, driven through its chromedriver by
 * Selenium): a real repo-server runs the rollout of a release over five nodes that speak the real
 * API with their credentials (heartbeats, leases, feedback). An operator logs in, watches the
 * rollout advance without a reload, halts it and sees the nodes stop, opens a node's trail, in
 * which hostile text from the node shows as text; actions without the CSRF token or without login
 * are refused, and a viewer sees no buttons. Screenshots of each page go to {@code docs/img/}, so
 * the documentation shows the dashboard as it is ({@code -Dupgradekit.screenshots=DIR} elsewhere).
 */
class DashboardBrowserIT {
  static final String CHROMIUM = "/usr/bin/chromium";
  static final String CHROMEDRIVER = "/usr/bin/chromedriver";
  static final Path SCREENSHOTS = Path.of(System.getProperty("upgradekit.screenshots", "../docs/img"));
  static final String[] NODES = {"web-01", "web-02", "web-03", "web-04", "web-05"};
  static final String HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">";

  @Test
  @Timeout(value = 150)
  void anOperatorWatchesARolloutHaltsItAndReadsANodesTrail(@TempDir Path dir) throws Exception {
    Path root = Files.createDirectory(dir.resolve("repo"));
    TestRepository repo = new TestRepository();
    publish(repo, root);
    seedAnEarlierFailure(root);
    Path key = RolloutApiTest.secret(dir, "rollout.key", repo.releaseKey.toPem());
    Path operators = RolloutApiTest.secret(dir, "operators", "alice operator " + RolloutApiTest.OPERATOR
        + "\nbob viewer " + RolloutApiTest.VIEWER + "\n");
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> nodes = new ArrayList<>();
    WebDriver[] opened = new WebDriver[1];
    try (ServerFixture server = new ServerFixture(root, b -> b.rolloutKeyFile(key).operatorCredentialsFile(operators)
        .controllerInterval(Duration.ofMillis(250)).rolloutStartDelay(Duration.ofMinutes(10)).instance("browser"))) {
      for (int i = 0; i < NODES.length; i++) {
        SimulatedNode node = new SimulatedNode(server, repo, NODES[i], i, stop);
        Thread t = new Thread(node::run, "node-" + NODES[i]);
        t.setDaemon(true);
        t.start();
        nodes.add(t);
      }
      // a label with markup never gets in: the API refuses it
      String hostileLabel = new String(ApiBody.HEARTBEAT.write(new Heartbeat("web-01", "shop", "stable", "1.0",
          Map.of("zone", "a"), "IDLE", true, null, null, 2, Instant.now())), StandardCharsets.UTF_8)
          .replace("\"zone\":\"a\"", "\"zone\":\"<script>alert(1)</script>\"");
      assertThat(server.postAsNode("/v1/heartbeats", "web-01", hostileLabel.getBytes(StandardCharsets.UTF_8))
          .statusCode()).isEqualTo(400);

      WebDriver browser = browser();
      opened[0] = browser;
      JavascriptExecutor js = (JavascriptExecutor) browser;
      browser.get(server.uri("/ui/").toString());
      WebElement token = waitFor(browser, By.id("token"));
      assertThat(browser.findElement(By.id("login")).isDisplayed()).isTrue();
      shoot(browser, "dashboard-login.png");

      // without login, nothing is readable or doable, from the page's own origin either
      assertThat(fetch(js, "GET", "/v1/rollouts", null, false)).isEqualTo(401);
      assertThat(fetch(js, "POST", "/v1/rollouts/shop/2.0/actions", "{\"action\":\"halt\",\"reason\":\"x\"}", false))
          .isEqualTo(401);

      token.sendKeys(RolloutApiTest.OPERATOR);
      browser.findElement(By.id("login-button")).click();
      waitFor(browser, By.cssSelector("a.rollout-link"));
      click(browser, By.cssSelector("a.rollout-link"));
      js.executeScript("window.__sameDocument = 'no reload since'");
      // the rollout waits for the operator: the server starts it by itself only after --rollout-start-delay
      until(browser, Duration.ofSeconds(20), "the rollout not started, with its start button",
          () -> browser.findElement(By.id("rollout-status")).getText().contains("not-started")
              && browser.findElement(By.id("action-start")).isEnabled());
      click(browser, By.id("action-start"));
      waitFor(browser, By.id("action-reason")).sendKeys("the fleet has announced itself");
      browser.findElement(By.id("action-submit")).click();
      waitFor(browser, By.cssSelector(".wave[data-wave='0']"));

      // the rollout advances on the page: the canary passes and the next wave opens and updates
      until(browser, Duration.ofSeconds(45), "the canary wave passed and wave 2 updates",
          () -> attr(browser, ".wave[data-wave='0']", "data-status").equals("passed")
              && !browser.findElements(By.cssSelector(".wave[data-wave='1'] .node[data-state='updating']")).isEmpty());
      assertThat(js.executeScript("return window.__sameDocument")).isEqualTo("no reload since");
      assertThat(browser.findElement(By.id("rollout-summary")).getText()).contains("slots", "of 2 busy");

      // halt: asks for a reason, and the page shows the rollout halted, the nodes not yet started stay
      assertThat(attr(browser, ".wave[data-wave='2']", "data-status")).isEqualTo("waiting");
      shoot(browser, "dashboard-rollout.png");
      click(browser, By.id("action-halt"));
      WebElement reason = waitFor(browser, By.id("action-reason"));
      reason.sendKeys("latency alerts on <b>web</b>");
      browser.findElement(By.id("action-submit")).click();
      until(browser, Duration.ofSeconds(15), "the rollout halted",
          () -> browser.findElement(By.id("rollout-status")).getText().contains("halted"));
      assertThat(browser.findElement(By.id("action-log")).getText()).contains("halt", "alice",
          "latency alerts on <b>web</b>", "start", "the fleet has announced itself");
      assertThat(js.executeScript("return window.__sameDocument")).isEqualTo("no reload since");
      until(browser, Duration.ofSeconds(10), "the judge's charts drawn",
          () -> !browser.findElements(By.cssSelector("#charts [data-chart='ErrorRate'] path.upgraded")).isEmpty());
      assertThat(browser.findElement(By.id("plan")).getText()).contains("batches", "50%", "within 60 s");
      @SuppressWarnings("unchecked")
      List<String> lastWave = (List<String>) js.executeScript("return Array.from(document.querySelectorAll("
          + "\".wave[data-wave='2'] .node\")).map(n => n.getAttribute('data-node'));");
      assertThat(lastWave).isNotEmpty();
      // the nodes that were updating finish; without the halt the last wave would open a second later
      until(browser, Duration.ofSeconds(20), "wave 2's updates finished",
          () -> browser.findElements(By.cssSelector(".wave[data-wave='1'] .node[data-state='updating']")).isEmpty());
      Thread.sleep(4000); // the bake, several controller passes and node polls
      for (String n : lastWave) {
        assertThat(attr(browser, ".wave[data-wave='2'] .node[data-node='" + n + "']", "data-state"))
            .as("%s never started after the halt", n).isEqualTo("pending");
      }
      // a canary node ran 'updater drill': its two reports show as one drill on the rollout page
      String drilled = attr(browser, ".wave[data-wave='0'] .node", "data-node");
      Instant drilledAt = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      assertThat(server.postAsNode("/v1/feedback", drilled, Json.canonicalBytes(new Feedback("feedback", "ev-drill-1", 1,
          drilled, "shop", "2.0", "1.0", "END", "ROLLED_BACK", List.of(new StepReport("ROLLBACK", drilledAt, 1400, "OK",
              null, null)), null, null, Map.of("drill.leg", 1.0, "drill.seconds", 1.4, "drill.requests", 70.0,
              "drill.requests_failed", 2.0, "drill.longest_gap_seconds", 0.5), drilledAt))).statusCode()).isEqualTo(201);
      assertThat(server.postAsNode("/v1/feedback", drilled, Json.canonicalBytes(new Feedback("feedback", "ev-drill-2", 1,
          drilled, "shop", "1.0", "2.0", "END", "COMMITTED", List.of(new StepReport("SWITCH", drilledAt, 20, "OK", null,
              null)), null, null, Map.of("drill.leg", 2.0, "drill.seconds", 2.1, "drill.requests", 80.0,
              "drill.requests_failed", 1.0, "drill.longest_gap_seconds", 0.4), drilledAt.plusSeconds(2))))
          .statusCode()).isEqualTo(201);
      until(browser, Duration.ofSeconds(10), "the drill on the rollout page",
          () -> browser.findElement(By.id("drills")).getText().contains(drilled));
      assertThat(browser.findElement(By.id("drills")).getText()).contains("ROLLED_BACK", "1.4 s", "COMMITTED", "2.1 s",
          "3 of 150", "0.5 s");
      shoot(browser, "dashboard-rollout-halted.png");

      // an action from the page without its CSRF token is refused, with it the server decides
      assertThat(fetch(js, "POST", "/v1/rollouts/shop/2.0/actions", "{\"action\":\"resume\",\"reason\":\"x\"}", true))
          .isEqualTo(403);
      assertThat(fetch(js, "POST", "/v1/rollouts/shop/2.0/actions", "{\"action\":\"resume\",\"reason\":\"x\"}", false))
          .as("without the session cookie").isEqualTo(401);

      // a node's trail: states, durations, the code and its fix; what the node wrote stays text
      click(browser, By.cssSelector(".node[data-node='web-04']"));
      waitFor(browser, By.cssSelector("#events .event"));
      until(browser, Duration.ofSeconds(10), "the failed event",
          () -> browser.findElement(By.id("events")).getText().contains("HEALTH_CHECK_FAILED"));
      String events = browser.findElement(By.id("events")).getText();
      assertThat(events).contains("VERIFY", "DOWNLOAD", "ROLLED_BACK", "What to do:", "retry the node",
          "baseline.error_rate", "watch.error_rate");
      assertThat(browser.findElement(By.cssSelector(".event-message")).getText()).isEqualTo(HOSTILE);
      assertThat(browser.findElements(By.cssSelector("#events script, #events img"))).isEmpty();
      assertThat(js.executeScript("return window.__pwned === undefined")).isEqualTo(true);
      shoot(browser, "dashboard-node.png");

      browser.findElement(By.id("nav-inventory")).click();
      until(browser, Duration.ofSeconds(10), "the inventory",
          () -> browser.findElements(By.cssSelector("#inventory tr[data-node]")).size() == NODES.length);
      assertThat(browser.findElement(By.id("versions")).getText()).contains("shop", "1.0", "2.0");
      assertThat(browser.findElement(By.id("inventory")).getText()).contains("zone=a", "rack=r13", "COMMITTED");
      shoot(browser, "dashboard-inventory.png");

      browser.findElement(By.id("nav-releases")).click();
      until(browser, Duration.ofSeconds(10), "the releases",
          () -> browser.findElements(By.cssSelector("#releases tr[data-version]")).size() == 2);
      assertThat(browser.findElement(By.id("releases")).getText()).contains("Trust root version 1", "stable",
          "from 1.0", "#", "halt", "expires in");
      // The test's channel pointer expires within the default --expiry-warning: the banner says so, on every page.
      until(browser, Duration.ofSeconds(10), "the expiry banner", () -> browser.findElement(By.id("expiry")).isDisplayed());
      assertThat(browser.findElement(By.id("expiry")).getText()).contains("1 signed document needs attention",
          "the channel pointer shop/stable expires in", "mvn upgrade:resign -Dupgrade.app=shop -Dupgrade.channel=stable");
      shoot(browser, "dashboard-releases.png");

      // a viewer reads the same pages, sees no buttons, and is refused on actions
      browser.findElement(By.id("logout")).click();
      waitFor(browser, By.id("token")).sendKeys(RolloutApiTest.VIEWER);
      browser.findElement(By.id("login-button")).click();
      waitFor(browser, By.id("who"));
      browser.get(server.uri("/ui/#/rollouts/shop/2.0").toString());
      waitFor(browser, By.cssSelector(".wave[data-wave='0']"));
      assertThat(browser.findElement(By.id("actions")).getText()).contains("viewer");
      assertThat(browser.findElements(By.cssSelector("#actions button"))).isEmpty();
      Object viewerAction = js.executeAsyncScript("const done = arguments[arguments.length - 1];"
          + "fetch('/v1/sessions/current').then(r => r.json()).then(s => fetch('/v1/rollouts/shop/2.0/actions',"
          + " {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrfToken},"
          + " body: JSON.stringify({action: 'resume', reason: 'x'})})).then(r => done(r.status), e => done(String(e)));");
      assertThat(viewerAction).isEqualTo(403L);
    } finally {
      stop.set(true);
      if (opened[0] != null) {
        opened[0].quit();
      }
      for (Thread t : nodes) {
        t.join(5000);
      }
    }
  }

  @Test
  void anOperatorSeesAReleaseSetItsComponentsAndContractsAndPausesIt(@TempDir Path dir) throws Exception {
    Path root = Files.createDirectory(dir.resolve("repo"));
    TestRepository repo = new TestRepository();
    SetApiTest.publish(repo, root);
    Path key = RolloutApiTest.secret(dir, "rollout.key", repo.releaseKey.toPem());
    Path operators = RolloutApiTest.secret(dir, "operators", "alice operator " + RolloutApiTest.OPERATOR + "\n");
    WebDriver browser = null;
    try (ServerFixture server = new ServerFixture(root, b -> b.rolloutKeyFile(key).operatorCredentialsFile(operators)
        .controllerInterval(Duration.ofMillis(250)).rolloutStartDelay(Duration.ofMillis(100)).instance("browser"))) {
      for (String node : List.of("d1", "a1")) {
        Heartbeat hb = new Heartbeat(node, node.startsWith("d") ? "database" : "api", "stable", "1.0", Map.of(),
            "IDLE", true, 0.0, 0.01, 30, Instant.now());
        assertThat(server.postAsNode("/v1/heartbeats", node, ApiBody.HEARTBEAT.write(hb)).statusCode()).isEqualTo(200);
      }
      browser = browser();
      browser.get(server.uri("/ui/").toString());
      waitFor(browser, By.id("token")).sendKeys(RolloutApiTest.OPERATOR);
      browser.findElement(By.id("login-button")).click();
      waitFor(browser, By.cssSelector("a.set-link"));
      assertThat(browser.findElement(By.id("sets")).getText()).contains("Release sets", "shop 1", "running");
      click(browser, By.cssSelector("a.set-link"));
      WebDriver page = browser;
      until(browser, Duration.ofSeconds(20), "the set's components, database rolling and api held",
          () -> page.findElement(By.id("set-components")).getText().contains("rolling")
              && page.findElement(By.id("set-components")).getText()
                  .contains("held: release set shop 1 starts it after database"));
      assertThat(browser.findElement(By.id("set-contracts")).getText()).contains("api 2.x requires database >= 2.0",
          "unmet", "1 of 1", "waiting for database >= 2.0: 1 of 1 database nodes run 1.0");
      shoot(browser, "dashboard-set.png");

      click(browser, By.id("set-action-pause"));
      waitFor(browser, By.id("action-reason")).sendKeys("database maintenance");
      browser.findElement(By.id("action-submit")).click();
      until(browser, Duration.ofSeconds(20), "the set paused, in its log and on its components",
          () -> page.findElement(By.id("set-status")).getText().contains("paused")
              && page.findElement(By.id("log")).getText().contains("database maintenance")
              && page.findElement(By.id("set-components")).getText().contains("paused"));
      assertThat(browser.findElement(By.id("set-action-pause")).isEnabled()).isFalse();
      assertThat(browser.findElement(By.id("set-action-resume")).isEnabled()).isTrue();
    } finally {
      if (browser != null) {
        browser.quit();
      }
    }
  }

  static WebDriver browser() {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,1000", "--force-device-scale-factor=1", "--lang=en-US");
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
        .usingAnyFreePort().build();
    WebDriver driver = new ChromeDriver(service, options);
    driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    return driver;
  }

  /** The status of a fetch the page makes itself ({@code csrf} false: the session's token is not sent). */
  static Object fetch(JavascriptExecutor js, String method, String url, String body, boolean withCookie) {
    Object status = js.executeAsyncScript("const done = arguments[arguments.length - 1];"
        + "fetch(arguments[1], {method: arguments[0], credentials: arguments[3] ? 'same-origin' : 'omit',"
        + " headers: {'Content-Type': 'application/json'}, body: arguments[2]})"
        + ".then(r => done(r.status), e => done(String(e)));", method, url, body, withCookie);
    return status instanceof Long l ? l.intValue() : status;
  }

  static WebElement waitFor(WebDriver browser, By by) {
    return new WebDriverWait(browser, Duration.ofSeconds(20)).until(d -> {
      List<WebElement> found = d.findElements(by);
      return found.isEmpty() || !found.get(0).isDisplayed() ? null : found.get(0);
    });
  }

  /** Clicks what {@code by} finds, again if the page redrew it between finding and clicking. */
  static void click(WebDriver browser, By by) {
    for (int attempt = 0; ; attempt++) {
      try {
        browser.findElement(by).click();
        return;
      } catch (org.openqa.selenium.StaleElementReferenceException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
  }

  /** An attribute of the first element {@code css} selects, read in one step (the page redraws as it polls). */
  static String attr(WebDriver browser, String css, String name) {
    Object value = ((JavascriptExecutor) browser).executeScript("const e = document.querySelector(arguments[0]);"
        + " return e ? e.getAttribute(arguments[1]) : null;", css, name);
    return value == null ? "" : value.toString();
  }

  interface Check {
    boolean ok() throws Exception;
  }

  static void until(WebDriver browser, Duration timeout, String what, Check check) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        if (check.ok()) {
          return;
        }
      } catch (org.openqa.selenium.StaleElementReferenceException e) {
        // the page redrew the element meanwhile: look again
      }
      if (System.nanoTime() > deadline) {
        shoot(browser, "failure.png", Path.of("target"));
        throw new AssertionError("waited " + timeout.toSeconds() + " s for " + what + "; the page says:\n"
            + browser.findElement(By.tagName("body")).getText());
      }
      Thread.sleep(200);
    }
  }

  static void shoot(WebDriver browser, String name) throws Exception {
    shoot(browser, name, SCREENSHOTS);
  }

  static void shoot(WebDriver browser, String name, Path dir) throws Exception {
    Files.createDirectories(dir);
    File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
  }

  /** Releases 1.0 (no plan) and 2.0 (a plan, a delta from 1.0), the channel on 2.0. */
  static void publish(TestRepository repo, Path root) throws Exception {
    repo.install(root);
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] old = TestRepository.randomBytes(48_000, 1);
    ReleaseManifest first = ReleaseManifest.of("shop", "1.0", 1, now.minus(2, ChronoUnit.DAYS),
        now.plus(90, ChronoUnit.DAYS), new PayloadTree(List.of(TreeEntry.file("app.jar", old.length,
            Hashes.sha256(old), false))), new BlobRef(Hashes.sha256(old), old.length), List.of(), null, null);
    byte[] pkg = TestRepository.randomBytes(52_000, 2);
    PayloadTree tree = new PayloadTree(List.of(TreeEntry.file("app.jar", pkg.length, Hashes.sha256(pkg), false)));
    ReleaseManifest second = ReleaseManifest.of("shop", "2.0", 2, now, now.plus(90, ChronoUnit.DAYS), tree,
        new BlobRef(Hashes.sha256(pkg), pkg.length), List.of(new DeltaRef("1.0", first.treeHash(),
            new BlobRef(Hashes.sha256("delta".getBytes(StandardCharsets.UTF_8)), 6_300))),
        new RolloutPlan(null, RolloutPlan.Strategy.BATCHES, 50, 1L,
            new RolloutPlan.RollbackPolicy("manual", null, null, 60L, null)), null);
    byte[] secondBytes = Envelopes.sign(DocumentType.RELEASE, second, List.of(repo.releaseKey));
    try (DirectoryStore store = new DirectoryStore(root)) {
      store.create(RepositoryLayout.releaseManifest("shop", "1.0"), Envelopes.sign(DocumentType.RELEASE, first,
          List.of(repo.releaseKey)));
      store.create(RepositoryLayout.releaseManifest("shop", "2.0"), secondBytes);
      store.create(RepositoryLayout.channelPointer("shop", "stable"), repo.pointer("shop", "stable", "2.0", 2,
          secondBytes));
    }
  }

  /** web-04 once failed to install 1.0: its report carries markup in the node's own words. */
  static void seedAnEarlierFailure(Path root) throws Exception {
    Instant t = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
    Feedback failed = new Feedback("feedback", "ev-1-0-first", 5, "web-04", "shop", "0.9", "1.0", "END",
        "ROLLED_BACK", List.of(
            new StepReport("RESOLVE", t, 40, "OK", null, null),
            new StepReport("DOWNLOAD", t.plusMillis(40), 1850, "OK", null, null),
            new StepReport("STAGE", t.plusMillis(1890), 620, "OK", null, null),
            new StepReport("STOP", t.plusMillis(2510), 900, "OK", null, null),
            new StepReport("SWITCH", t.plusMillis(3410), 12, "OK", null, null),
            new StepReport("START", t.plusMillis(3422), 2100, "OK", null, null),
            new StepReport("VERIFY", t.plusMillis(5522), 30000, "FAILED", "HEALTH_CHECK_FAILED", HOSTILE),
            new StepReport("ROLLBACK", t.plusMillis(35522), 2400, "OK", null, null)),
        "HEALTH_CHECK_FAILED", HOSTILE, Map.of("baseline.error_rate", 0.0012, "baseline.latency", 0.021,
            "watch.error_rate", 0.31, "watch.latency", 0.74), t.plusSeconds(38),
        List.of(new EventNote(t.plusSeconds(20), "VERIFY", "WARNING", "health check answered 503 (attempt 2 of 3)")));
    try (DirectoryStore store = new DirectoryStore(root)) {
      store.create(RepositoryLayout.feedback("shop", "web-04", failed.eventId(), failed.sequence()),
          Json.canonicalBytes(failed));
    }
  }

  /**
   * A node that speaks the real API with its own credential: a heartbeat every second; when its
   * wave opens it asks for a slot, confirms it, updates (its heartbeats name the states), reports
   * the event and gives the slot back.
   */
  static final class SimulatedNode {
    private final ServerFixture server;
    private final MetadataVerifier verifier;
    private final String id;
    private final int index;
    private final AtomicBoolean stop;
    private final Random random;
    private volatile String version = "1.0";
    private volatile String state = "IDLE";

    SimulatedNode(ServerFixture server, TestRepository repo, String id, int index, AtomicBoolean stop) {
      this.server = server;
      this.verifier = new MetadataVerifier(repo.root, Clock.systemUTC());
      this.id = id;
      this.index = index;
      this.stop = stop;
      this.random = new Random(index);
    }

    void run() {
      long nextAsk = 0;
      try {
        while (!stop.get()) {
          heartbeat();
          if (version.equals("1.0") && System.nanoTime() > nextAsk) {
            HttpResponse<String> asked = server.postAsNode("/v1/leases", id, ApiBody.LEASE_REQUEST.write(
                LeaseRequest.ask("shop", "2.0", id, LeaseGrant.Kind.UPGRADE)));
            LeaseAnswer answer = asked.statusCode() != 200 ? null
                : ApiBody.LEASE_ANSWER.read(asked.body().getBytes(StandardCharsets.UTF_8));
            if (answer != null && answer.status() == LeaseAnswer.Status.GRANTED) {
              update(verifier.verifyLeaseGrant(answer.grant().getBytes(StandardCharsets.UTF_8), "shop", "2.0", id));
            }
            nextAsk = System.nanoTime() + Duration.ofMillis(700).toNanos();
          }
          Thread.sleep(1000);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        if (!stop.get()) {
          throw new IllegalStateException(id + " failed", e);
        }
      }
    }

    private void update(LeaseGrant grant) throws Exception {
      LeaseRequest confirm = new LeaseRequest("shop", "2.0", id, LeaseGrant.Kind.UPGRADE, grant.slot(),
          grant.generation(), null);
      post("/v1/leases/confirm", ApiBody.LEASE_REQUEST.write(confirm));
      Instant started = Instant.now().truncatedTo(ChronoUnit.MILLIS);
      List<StepReport> steps = new ArrayList<>();
      long stepMillis = grant.wave() == 0 ? 700 : 3500; // the canary is quick; later waves take long enough to halt
      for (String s : List.of("STOP", "SWITCH", "START", "VERIFY")) {
        state = s;
        Instant at = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        heartbeat();
        Thread.sleep(stepMillis);
        steps.add(new StepReport(s, at, stepMillis, "OK", null, null));
        if (s.equals("SWITCH")) {
          version = "2.0";
        }
      }
      state = "IDLE";
      heartbeat();
      List<StepReport> all = new ArrayList<>(List.of(new StepReport("GATE", started, 30, "OK", null, null)));
      all.addAll(steps);
      Feedback report = new Feedback("feedback", "ev-2-0-" + id, all.size(), id, "shop", "1.0", "2.0", "END",
          "COMMITTED", all, null, null, Map.of("baseline.error_rate", 0.0012, "watch.error_rate", 0.0011),
          Instant.now().truncatedTo(ChronoUnit.SECONDS));
      post("/v1/feedback", Json.canonicalBytes(report));
      post("/v1/leases/release", ApiBody.LEASE_REQUEST.write(new LeaseRequest("shop", "2.0", id,
          LeaseGrant.Kind.UPGRADE, grant.slot(), grant.generation(), "COMMITTED")));
    }

    private void heartbeat() throws Exception {
      boolean upgraded = version.equals("2.0");
      double errors = (upgraded ? 0.0016 : 0.0012) + random.nextDouble() * 0.0004;
      double latency = (upgraded ? 0.024 : 0.021) + random.nextDouble() * 0.004;
      Heartbeat hb = new Heartbeat(id, "shop", "stable", version, Map.of("zone", index % 2 == 0 ? "a" : "b",
          "rack", "r" + (10 + index)), state, true, errors, latency, 2, Instant.now());
      post("/v1/heartbeats", ApiBody.HEARTBEAT.write(hb));
    }

    private byte[] post(String path, byte[] body) throws Exception {
      HttpResponse<String> answer = server.postAsNode(path, id, body);
      return answer.body().getBytes(StandardCharsets.UTF_8);
    }
  }
}
