package io.upgradekit.it.demo;

import com.fasterxml.jackson.databind.JsonNode;
import io.upgradekit.it.Artifacts;
import io.upgradekit.it.Command;
import io.upgradekit.it.Fleet;
import io.upgradekit.it.HarnessException;
import io.upgradekit.it.MavenReleaser;
import io.upgradekit.it.Node;
import io.upgradekit.it.NodeConfig;
import io.upgradekit.it.NodeConfig.Strategy;
import io.upgradekit.it.Ports;
import io.upgradekit.it.RepoServer;
import io.upgradekit.it.RolloutTrust;
import io.upgradekit.it.ServiceDistribution;
import io.upgradekit.it.UpdateRecord;
import io.upgradekit.it.Workspace;
import io.upgradekit.it.load.LoadGenerator;
import io.upgradekit.it.load.LoadReport;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.schema.json.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code ./demo.sh --set}: the example shop of {@code examples/shop} (database, cache, api, gateway,
 * each calling the one below) on two nodes each, released with the real {@code mvn package
 * upgrade:release}; then 2.0.0 of all four as the release set of {@code release-set.yaml}, previewed
 * with {@code mvn upgrade:plan} and published with {@code mvn upgrade:release-set}, rolled out by
 * repo-server component after component while the gateways carry load. Prints each node's switch
 * as it happens, then per component when its first node stopped and its last one committed.
 */
final class SetDemo {
  private static final List<String> COMPONENTS = ServiceDistribution.SHOP;
  private static final int NODES_PER_COMPONENT = 2;
  private static final Duration WAIT = Duration.ofMinutes(4);

  private final Demo.Options options;
  private final Terminal out;

  SetDemo(Demo.Options options, Terminal out) {
    this.options = options;
    this.out = out;
  }

  int runIn(Workspace ws) {
    Artifacts artifacts = Artifacts.locate();
    Path repository = ws.dir("repository");
    Path keys = ws.dir("keys");
    Path releaseKey = keys.resolve("release.pem");
    Path rolloutKey = keys.resolve("rollout.pem");
    MavenReleaser maven = MavenReleaser.create(artifacts, artifacts.shopProject(), ws.dir("build"), releaseKey,
        repository.toString(), ws.logs());
    for (String c : COMPONENTS) {
      artifacts.shopDist(c); // built, or a clear message now rather than later
    }

    out.phase("Create a release key, a rollout key and the trust root naming them");
    RolloutTrust.create(repository, releaseKey, rolloutKey);
    out.done();
    out.detail("the release key signs releases and sets (mvn); the rollout key is repo-server's");

    out.phase("Release the shop 1.0.0: mvn package upgrade:release -Dshop.firstInstall");
    maven.maven("release-1.0.0", List.of("package", "upgrade:release", "-DskipTests", "-Dshop.firstInstall",
        "-Dupgrade.version=1.0.0", "-Dupgrade.keyFile=" + releaseKey, "-Dupgrade.repository=" + repository))
        .requireSuccess("mvn package upgrade:release (1.0.0)");
    out.done("4 components");
    out.detail("no plan for a first install: every node installs it at once");

    Map<String, List<Integer>> ports = new LinkedHashMap<>();
    COMPONENTS.forEach(c -> {
      List<Integer> p = new ArrayList<>();
      for (int i = 0; i < NODES_PER_COMPONENT; i++) {
        p.add(Ports.freeLoopbackPort());
      }
      ports.put(c, p);
    });
    List<NodeConfig> configs = new ArrayList<>();
    for (int k = 0; k < COMPONENTS.size(); k++) {
      String c = COMPONENTS.get(k);
      Map<String, String> environment = new LinkedHashMap<>();
      if (k > 0) {
        environment.put("HELLO_DOWNSTREAM", String.join(",", ports.get(COMPONENTS.get(k - 1)).stream()
            .map(port -> "http://127.0.0.1:" + port + "/").toList()));
      }
      for (int i = 1; i <= NODES_PER_COMPONENT; i++) {
        configs.add(ServiceDistribution.shop(artifacts, c).configure(
            NodeConfig.defaults(c + "-" + i, Strategy.OVERLAP, ports.get(c).get(i - 1)))
            .withHeartbeat(Duration.ofSeconds(4)).withServiceEnvironment(environment));
      }
    }
    out.phase("Start repo-server (rollout controller on) and set up 8 nodes, 2 per component");
    Fleet fleet = Fleet.start(ws, artifacts, repository, configs, RepoServer.Options.defaults()
        .withRollouts(new RepoServer.Rollouts(rolloutKey, Duration.ofSeconds(5), Duration.ofMillis(500),
            Duration.ofSeconds(30))));
    out.done();
    out.detail("repo-server on " + fleet.server().url() + " with --rollout-key-file");
    for (int k = COMPONENTS.size() - 1; k >= 0; k--) {
      String c = COMPONENTS.get(k);
      out.detail(String.format(Locale.ROOT, "%-9s on 127.0.0.1:%s%s", c, ports.get(c).stream().map(String::valueOf)
          .reduce((a, b) -> a + ", " + b).orElse(""), k == 0 ? "" : ", calling " + COMPONENTS.get(k - 1)));
    }

    out.phase("Start the node updaters: they install 1.0.0");
    fleet.startDaemons();
    fleet.forEachNode(n -> n.awaitCommitted("1.0.0", 0, WAIT));
    out.done("8 of 8 run 1.0.0");
    out.detail("a request through the gateway: " + chain(fleet));

    int rate = options.rate() > 0 ? options.rate() : 20;
    out.phase("Load the gateways: " + rate + " requests/s, each crossing the four components");
    LoadGenerator.Builder builder = LoadGenerator.builder().rate(rate);
    fleet.nodes().stream().filter(n -> n.id().startsWith("gateway-")).forEach(n -> builder.target(n.id(),
        n.serviceUrl()));
    LoadGenerator load = ws.own(builder.build());
    load.start();
    out.done();

    Map<String, Long> marks = fleet.marks();
    out.phase("Release the shop 2.0.0, each with its <rollout> plan: mvn package upgrade:release");
    maven.maven("release-2.0.0", List.of("package", "upgrade:release", "-DskipTests", "-Dupgrade.version=2.0.0",
        "-Dupgrade.keyFile=" + releaseKey, "-Dupgrade.repository=" + repository))
        .requireSuccess("mvn package upgrade:release (2.0.0)");
    out.done("4 components");
    Path summary = maven.project().resolve("database/target/upgrade/release.json");
    try {
      ReleaseResult database = Json.read(Files.readAllBytes(summary), ReleaseResult.class, summary.toString());
      out.detail("plan (examples/shop/pom.xml): " + RolloutSettings.describe(database.rollout()));
    } catch (IOException e) {
      throw new HarnessException("mvn upgrade:release wrote no " + summary + ": " + e, e);
    }

    out.phase("Preview and publish the set: mvn upgrade:plan upgrade:release-set");
    Command.Result set = maven.maven("set-2.0.0", List.of("-N", "upgrade:plan", "upgrade:release-set",
        "-Dupgrade.setVersion=2.0.0", "-Dupgrade.nodeTime=10s", "-Dupgrade.keyFile=" + releaseKey,
        "-Dupgrade.repository=" + repository)).requireSuccess("mvn upgrade:plan upgrade:release-set");
    Instant published = Instant.now();
    out.done("sets/shop/2.0.0.json");
    JsonNode plan = json(maven.project().resolve("target/upgrade/plan.json"));
    List<String> steps = new ArrayList<>();
    plan.path("steps").forEach(s -> {
      List<String> apps = new ArrayList<>();
      s.forEach(a -> apps.add(a.asText()));
      steps.add(String.join(" + ", apps));
    });
    out.detail("release-set.yaml: " + String.join(" -> ", steps) + ", rolling, rollback auto");
    for (JsonNode c : plan.path("components")) {
      List<String> waves = new ArrayList<>();
      c.path("waves").forEach(w -> {
        List<String> nodes = new ArrayList<>();
        w.path("nodes").forEach(n -> nodes.add(n.path("id").asText()));
        waves.add(String.join(",", nodes));
      });
      out.detail(String.format(Locale.ROOT, "upgrade:plan %-8s waves %s, from ~%ss", c.path("app").asText(),
          String.join(" | ", waves), c.path("startsAtSeconds").asText()));
    }
    out.detail("problems found by the preview: " + (plan.path("problems").isEmpty() ? "none"
        : plan.path("problems").size() + " (see " + set.logFile() + ")"));

    out.phase("The set rolls out: each component once the one below it is done");
    watch(fleet, "2.0.0", published);
    out.done("8 of 8 run 2.0.0");
    LoadReport report = load.stop();
    out.detail("a request through the gateway: " + chain(fleet));

    results(fleet, published, report);
    out.phase("Stop everything");
    ws.close();
    out.done();
    out.blank();
    out.line("Total " + Terminal.seconds(Duration.ofMillis(System.currentTimeMillis() - options.startedAtMillis()))
        + ". Machine: " + Runtime.getRuntime().availableProcessors() + " cores, load average " + Demo.loadAverage()
        + " (other work on this machine shows in the timings).");
    return 0;
  }

  /** Prints each node's switch to {@code version} as it is seen, and each component once all its nodes run it. */
  private void watch(Fleet fleet, String version, Instant published) {
    Map<String, String> seen = new LinkedHashMap<>();
    fleet.nodes().forEach(n -> seen.put(n.id(), n.currentVersion().orElse("")));
    List<String> done = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (done.size() < COMPONENTS.size()) {
      if (System.nanoTime() > deadline) {
        throw new HarnessException("the set did not roll out within " + WAIT.toMinutes() + " minutes; done: " + done
            + ", nodes: " + seen);
      }
      for (Node n : fleet.nodes()) {
        String now = n.currentVersion().orElse("");
        if (!now.equals(seen.get(n.id()))) {
          out.detail(String.format(Locale.ROOT, "+%-7s %-10s %s -> %s", since(published), n.id(), seen.get(n.id()),
              now));
          seen.put(n.id(), now);
        }
      }
      for (String c : COMPONENTS) {
        boolean all = seen.entrySet().stream().filter(e -> e.getKey().startsWith(c + "-"))
            .allMatch(e -> e.getValue().equals(version));
        if (all && !done.contains(c)) {
          done.add(c);
          out.detail(String.format(Locale.ROOT, "+%-7s %s done: %d of %d nodes run %s", since(published), c,
              NODES_PER_COMPONENT, NODES_PER_COMPONENT, version));
        }
      }
      Demo.sleep(250);
    }
  }

  private void results(Fleet fleet, Instant published, LoadReport report) {
    Map<String, List<UpdateRecord>> histories = fleet.forEachNode(Node::history);
    out.blank();
    out.line("Results");
    out.blank();
    out.line("  Each component's nodes from the first STOP to the last COMMIT (updater history --json),");
    out.line("  counted from the publication of the set:");
    out.line(String.format(Locale.ROOT, "  %-10s%14s%14s", "", "first STOP", "last COMMIT"));
    for (String c : COMPONENTS) {
      Instant first = null;
      Instant last = null;
      for (Map.Entry<String, List<UpdateRecord>> e : histories.entrySet()) {
        if (!e.getKey().startsWith(c + "-")) {
          continue;
        }
        for (UpdateRecord r : e.getValue()) {
          if ("2.0.0".equals(r.toVersion()) && r.stepStart("STOP") != null && r.stepStart("COMMIT") != null) {
            first = first == null || r.stepStart("STOP").isBefore(first) ? r.stepStart("STOP") : first;
            last = last == null || r.stepStart("COMMIT").isAfter(last) ? r.stepStart("COMMIT") : last;
          }
        }
      }
      out.line(String.format(Locale.ROOT, "  %-10s%14s%14s", c, first == null ? "-" : "+" + seconds(published, first),
          last == null ? "-" : "+" + seconds(published, last)));
    }
    out.blank();
    out.line(String.format(Locale.ROOT, "  Requests through the gateways: %d, failed %d%s", report.overall().total(),
        report.overall().failed(), report.overall().failed() == 0 ? "" : " (" + report.overall().failureSummary() + ")"));
    out.blank();
  }

  private static String since(Instant from) {
    return seconds(from, Instant.now());
  }

  private static String seconds(Instant from, Instant to) {
    return String.format(Locale.ROOT, "%.1fs", Duration.between(from, to).toMillis() / 1000.0);
  }

  /** What the first gateway answers: every component's name and version on a request's way down. */
  private static String chain(Fleet fleet) {
    URI url = fleet.node("gateway-1").serviceUrl();
    HttpClient client = HttpClient.newHttpClient();
    String last = "";
    // Right after a start the four JVMs are cold and a busy machine answers late: a few tries, 30 s at most.
    for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos(); System.nanoTime() < deadline; ) {
      try {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        last = r.body().strip();
        if (r.statusCode() == 200) {
          return last;
        }
      } catch (IOException e) {
        last = "(no answer: " + e.getMessage() + ")";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "(interrupted)";
      }
      Demo.sleep(1000);
    }
    return last;
  }

  private static JsonNode json(Path file) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new HarnessException("cannot read " + file + ": " + e, e);
    }
  }
}
