package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.model.DocumentType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClaimApiTest {
  static final int CAPACITY = 5;

  @TempDir Path root;
  ServerFixture server;

  @BeforeEach
  void start() throws Exception {
    Path release = root.resolve("apps/demo/releases/1.0.0/release.json");
    Files.createDirectories(release.getParent());
    Files.write(release, new byte[] {'{', '}'});
    server = new ServerFixture(root, b -> b.claimCapacity(
        new io.upgradekit.server.core.ClaimCapacity(CAPACITY, Map.of("canary", 1))));
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  static byte[] body(String scope, String node) {
    return ("{\"app\":\"demo\",\"version\":\"1.0.0\",\"scope\":\"" + scope + "\",\"node\":\"" + node + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }

  static HttpResponse<String> claim(HttpClient client, URI base, String scope, String node) throws Exception {
    return client.send(HttpRequest.newBuilder(base.resolve("v1/claims")).timeout(Duration.ofSeconds(30))
        .header("Authorization", ServerFixture.nodeAuth(node))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body(scope, node))).build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> claim(String scope, String node) throws Exception {
    return claim(server.client, server.server.uri(), scope, node);
  }

  /** Reads every slot file of a scope: slot number to node. */
  static Map<Integer, String> slots(Path root, String scope) throws IOException {
    Map<Integer, String> slots = new HashMap<>();
    Path dir = root.resolve("claims/demo/1.0.0/" + scope);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.getFileName().toString().startsWith("slot-")).toList()) {
        Claim claim = Json.read(Files.readAllBytes(file), DocumentType.CLAIM, Claim.class);
        assertThat(file.getFileName().toString()).isEqualTo("slot-" + claim.slot() + ".json");
        assertThat(slots.put(claim.slot(), claim.node())).isNull();
      }
    }
    return slots;
  }

  @Test
  void aNodeGetsItsOwnClaimBackAndAFullScopeAnswers409() throws Exception {
    HttpResponse<String> first = claim("canary", "node-a");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    assertThat(first.body()).contains("\"slot\":0", "\"capacity\":1", "\"created\":true");
    HttpResponse<String> again = claim("canary", "node-a");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(again.body()).contains("\"slot\":0", "\"created\":false");
    HttpResponse<String> full = claim("canary", "node-b");
    assertThat(full.statusCode()).isEqualTo(409);
    assertThat(full.body()).contains("SCOPE_FULL");
    assertThat(slots(root, "canary")).containsExactly(Map.entry(0, "node-a"));
    assertThat(claim("other", "node-b").statusCode()).isEqualTo(201);

    HttpResponse<String> unknown = server.send(server.request("/v1/claims")
        .header("Authorization", ServerFixture.nodeAuth("node-a"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"app\":\"demo\",\"version\":\"9.9\",\"scope\":\"w\",\"node\":\"node-a\"}"))
        .build());
    assertThat(unknown.statusCode()).isEqualTo(404);
  }

  @Test
  void claimsNeedTheNodesOwnCredentialOrThePublisher() throws Exception {
    HttpResponse<String> other = server.send(server.request("/v1/claims")
        .header("Authorization", ServerFixture.nodeAuth("node-a"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body("wave", "node-b"))).build());
    assertThat(other.statusCode()).isEqualTo(403);
    HttpResponse<String> none = server.send(server.request("/v1/claims")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body("wave", "node-b"))).build());
    assertThat(none.statusCode()).isEqualTo(401);
    HttpResponse<String> publisher = server.send(server.request("/v1/claims")
        .header("Authorization", "Bearer " + ServerFixture.TOKEN)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body("wave", "node-b"))).build());
    assertThat(publisher.statusCode()).isEqualTo(201);
  }

  @Test
  void manyThreadsRacingGetExactlyOneWinnerPerSlot() throws Exception {
    int nodes = 24;
    ExecutorService pool = Executors.newFixedThreadPool(12);
    try {
      List<Callable<HttpResponse<String>>> tasks = new ArrayList<>();
      for (int i = 0; i < nodes; i++) {
        String node = "node-" + i;
        // Every node asks twice at once, to race against itself as well.
        tasks.add(() -> claim("wave-1", node));
        tasks.add(() -> claim("wave-1", node));
      }
      Map<String, Set<String>> slotsByNode = new HashMap<>();
      int full = 0;
      for (Future<HttpResponse<String>> f : pool.invokeAll(tasks)) {
        HttpResponse<String> r = f.get();
        if (r.statusCode() == 409) {
          full++;
          continue;
        }
        assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
        String node = r.body().replaceAll(".*\"node\":\"([^\"]+)\".*", "$1");
        String slot = r.body().replaceAll(".*\"slot\":(\\d+).*", "$1");
        slotsByNode.computeIfAbsent(node, n -> new HashSet<>()).add(slot);
      }
      Map<Integer, String> slots = slots(root, "wave-1");
      assertThat(slots).hasSize(CAPACITY);
      assertThat(new HashSet<>(slots.values())).hasSize(CAPACITY);
      assertThat(slotsByNode).hasSize(CAPACITY);
      slotsByNode.values().forEach(s -> assertThat(s).hasSize(1));
      assertThat(full).isGreaterThanOrEqualTo(2 * (nodes - CAPACITY));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void twoServerProcessesOnOneRootGiveEachSlotOnce() throws Exception {
    Path secret = root.resolve(".secret");
    Files.write(secret, ServerFixture.NODE_SECRET);
    List<Process> processes = new ArrayList<>();
    List<URI> uris = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
            "io.upgradekit.server.cli.ServerMain", "--root", root.toString(), "--port", "0",
            "--node-secret-file", secret.toString(), "--claim-capacity", "7", "--rate-limit", "0",
            "--access-log", "off", "--stop-timeout", "1s")
            .redirectErrorStream(true).start();
        processes.add(p);
      }
      for (Process p : processes) {
        uris.add(awaitListening(p));
      }
      int nodes = 30;
      ExecutorService pool = Executors.newFixedThreadPool(16);
      try {
        List<Callable<Integer>> tasks = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
          String node = "node-" + i;
          for (URI uri : uris) {
            tasks.add(() -> claim(server.client, uri, "wave-2", node).statusCode());
          }
        }
        List<Integer> statuses = new ArrayList<>();
        for (Future<Integer> f : pool.invokeAll(tasks)) {
          statuses.add(f.get());
        }
        assertThat(statuses).allMatch(s -> s == 200 || s == 201 || s == 409);
        // Every 201 is a slot file of its own; a node never holds two.
        assertThat(statuses).filteredOn(s -> s == 201).hasSize(slots(root, "wave-2").size());
      } finally {
        pool.shutdownNow();
      }
      // A slot given back after a same-node race between the processes goes to the next claimant.
      for (int i = 0; i < 3; i++) {
        claim(server.client, uris.get(i % 2), "wave-2", "late-" + i);
      }
      Map<Integer, String> slots = slots(root, "wave-2");
      assertThat(slots.keySet()).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6);
      assertThat(new HashSet<>(slots.values())).hasSize(7);
      try (Stream<Path> files = Files.list(root.resolve("claims/demo/1.0.0/wave-2"))) {
        assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("node-"))).hasSize(7);
      }
    } finally {
      for (Process p : processes) {
        p.destroy();
      }
      for (Process p : processes) {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  /** Reads a server process's output until it says where it listens. */
  static URI awaitListening(Process process) throws IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    Pattern listening = Pattern.compile("listening on (http://\\S+)");
    StringBuilder seen = new StringBuilder();
    for (String line; (line = out.readLine()) != null; ) {
      seen.append(line).append('\n');
      Matcher m = listening.matcher(line);
      if (m.find()) {
        Thread drain = new Thread(() -> {
          try {
            while (out.readLine() != null) {
              // keep the pipe from filling
            }
          } catch (IOException ignored) {
            // process ended
          }
        });
        drain.setDaemon(true);
        drain.start();
        return URI.create(m.group(1));
      }
    }
    throw new AssertionError("server process ended without listening:\n" + seen);
  }
}
