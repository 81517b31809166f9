package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile input: every case is answered 4xx with a JSON error, nothing is written, the server stays up. */
class HardeningTest {
  @TempDir static Path root;
  static ServerFixture server;

  @BeforeAll
  static void start() throws Exception {
    Path release = root.resolve("apps/demo/releases/1.0.0/release.json");
    Files.createDirectories(release.getParent());
    Files.write(release, new byte[] {'{', '}'});
    server = new ServerFixture(root, b -> b.feedbackQuotaBytes(6_000));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @AfterEach
  void nothingWrittenAndStillUp() throws Exception {
    try (Stream<Path> files = Files.walk(root)) {
      assertThat(files.filter(Files::isRegularFile).map(root::relativize).map(Path::toString)
          .filter(p -> !p.startsWith("feedback/demo/quota-node")))
          .containsExactly("apps/demo/releases/1.0.0/release.json");
    }
    assertThat(server.get("/v1/status").statusCode()).isEqualTo(200);
  }

  static HttpResponse<String> feedback(String node, HttpRequest.BodyPublisher body) throws Exception {
    return server.send(server.request("/v1/feedback").header("Authorization", ServerFixture.nodeAuth(node))
        .POST(body).build());
  }

  static void assertError(HttpResponse<String> response, int status, String code) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(response.body()).contains("\"code\":\"" + code + "\"").contains("\"message\":");
  }

  @Test
  void oversizedBodiesAre413ByContentLengthAndChunked() throws Exception {
    byte[] big = new byte[2 * 1024 * 1024];
    assertError(feedback("node-1", HttpRequest.BodyPublishers.ofByteArray(big)), 413, "BODY_TOO_LARGE");
    Supplier<InputStream> chunked = () -> new java.io.ByteArrayInputStream(big);
    assertError(feedback("node-1", HttpRequest.BodyPublishers.ofInputStream(chunked)), 413, "BODY_TOO_LARGE");
    String claim = "{\"app\":\"demo\",\"version\":\"1.0.0\",\"scope\":\"w\",\"node\":\"node-1\",\"pad\":\""
        + "x".repeat(10_000) + "\"}";
    assertError(server.send(server.request("/v1/claims").header("Authorization", ServerFixture.nodeAuth("node-1"))
        .POST(HttpRequest.BodyPublishers.ofString(claim)).build()), 413, "BODY_TOO_LARGE");
    byte[] blob = new byte[64];
    assertError(server.send(server.request("/v1/blobs/" + "a".repeat(64))
        .header("Authorization", ServerFixture.nodeAuth("node-1"))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)).build()), 401, "AUTH_REQUIRED");
  }

  @Test
  void malformedJsonIs400() throws Exception {
    String[] bodies = {
      "{not json",
      "",
      "[]",
      "{\"type\":\"feedback\",\"type\":\"feedback\"}",
      "[".repeat(100_000) + "]".repeat(100_000),
      "{\"type\":\"feedback\",\"eventId\":\"e1\",\"sequence\":\"0\"}",
    };
    for (String body : bodies) {
      assertError(feedback("node-1", HttpRequest.BodyPublishers.ofString(body)), 400, "METADATA_MALFORMED");
    }
    byte[] hugeString = ("{\"message\":\"" + "x".repeat(50 * 1024 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> huge = feedback("node-1", HttpRequest.BodyPublishers.ofByteArray(hugeString));
    assertThat(huge.statusCode()).isIn(400, 413);
    assertThat(huge.body()).contains("\"code\":");
  }

  @Test
  void hostileNamesAre400() throws Exception {
    String[] nodes = {"../x", "%2e%2e", "a%2Fb", "a\u0000b", "n".repeat(300), "A-UPPER", ".hidden", ""};
    for (String node : nodes) {
      String json = "{\"app\":\"demo\",\"version\":\"1.0.0\",\"scope\":\"w\",\"node\":"
          + io.upgradekit.schema.json.Json.canonicalBytes(node).length + "}";
      json = "{\"app\":\"demo\",\"version\":\"1.0.0\",\"scope\":\"w\",\"node\":"
          + new String(io.upgradekit.schema.json.Json.canonicalBytes(node), StandardCharsets.UTF_8) + "}";
      HttpResponse<String> response = server.send(server.request("/v1/claims")
          .header("Authorization", "Bearer " + ServerFixture.TOKEN)
          .POST(HttpRequest.BodyPublishers.ofString(json)).build());
      assertError(response, 400, "NAME_INVALID");
    }
    for (String bad : new String[] {"../x", "%2e%2e", "a%2Fb", "a%00b", "n".repeat(300)}) {
      String path = "/v1/apps/" + bad + "/releases/1.0";
      if (bad.equals("../x")) {
        path = "/v1/apps/..%2Fx/releases/1.0";
      }
      HttpResponse<String> response = server.send(server.request(path)
          .header("Authorization", "Bearer " + ServerFixture.TOKEN)
          .PUT(HttpRequest.BodyPublishers.ofString("{}")).build());
      assertThat(response.statusCode()).as(path + " " + response.body()).isEqualTo(400);
      assertThat(response.body()).as(path).contains("\"code\":");
    }
    // A node credential for a hostile id never verifies.
    HttpResponse<String> auth = server.send(server.request("/v1/feedback")
        .header("Authorization", ServerFixture.basic("../x", "0".repeat(64)))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    assertError(auth, 401, "AUTH_REQUIRED");
  }

  @Test
  void perNodeQuotaIsEnforced() throws Exception {
    Instant t = Instant.parse("2026-11-20T10:00:00Z");
    int stored = 0;
    HttpResponse<String> last = null;
    for (int i = 0; i < 20; i++) {
      last = server.postAsNode("/v1/feedback", "quota-node",
          FeedbackApiTest.report("quota-node", "ev-" + i, 0, "1.0.0", "1.1.0", "COMMITTED", t));
      if (last.statusCode() != 201) {
        break;
      }
      stored++;
    }
    assertThat(stored).isBetween(1, 19);
    assertError(last, 413, "QUOTA_EXCEEDED");
    assertThat(server.postAsNode("/v1/feedback", "node-other",
        FeedbackApiTest.report("node-other", "ev-1", 0, "1.0.0", "1.1.0", "COMMITTED", t)).statusCode())
        .isEqualTo(201);
    Files.walk(root.resolve("feedback/demo/node-other")).sorted(java.util.Comparator.reverseOrder())
        .forEach(p -> p.toFile().delete());
  }

  @Test
  void slowClientsAreClosedByTheIdleTimeout() throws Exception {
    try (ServerFixture impatient = new ServerFixture(root, b -> b.idleTimeout(Duration.ofMillis(500)));
        Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", impatient.server.port()));
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write("POST /v1/feedback HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long start = System.nanoTime();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[4096];
      while (in.read(buffer) >= 0) {
        // whatever the server says, it must then close
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
    }
  }

  @Test
  void aFloodFromOneClientIsAnswered429() throws Exception {
    try (ServerFixture limited = new ServerFixture(root, b -> b.rateLimit(20))) {
      List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        responses.add(limited.client.sendAsync(limited.request("/metrics").GET().build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      List<HttpResponse<String>> limitedOnes = new ArrayList<>();
      for (CompletableFuture<HttpResponse<String>> f : responses) {
        HttpResponse<String> r = f.get();
        assertThat(r.statusCode()).isIn(200, 429);
        if (r.statusCode() == 429) {
          limitedOnes.add(r);
        }
      }
      assertThat(limitedOnes).isNotEmpty();
      assertError(limitedOnes.get(0), 429, "RATE_LIMITED");
      assertThat(limitedOnes.get(0).headers().firstValue("Retry-After")).isPresent();
    }
  }
}
