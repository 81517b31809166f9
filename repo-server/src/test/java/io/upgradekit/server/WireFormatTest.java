package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exact bytes of every {@code /v1} answer: the wire format is a contract with the plugin, the
 * updaters and operators' scripts, so member names, types, nulls and order are pinned here, byte
 * for byte, whatever builds the bodies.
 */
@Timeout(60)
class WireFormatTest {
  static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  @TempDir Path root;
  final TestRepository repo = new TestRepository();
  final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  RepoServer server;

  @BeforeEach
  void start() throws Exception {
    repo.install(root);
    server = RepoServer.start(ServerConfig.builder(root).port(0).accessLog("off").rateLimit(0)
        .publishToken(ServerFixture.TOKEN.getBytes(StandardCharsets.UTF_8)).nodeSecret(ServerFixture.NODE_SECRET)
        .stopTimeout(Duration.ofSeconds(2)).build(), Clock.fixed(NOW, ZoneOffset.UTC));
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  HttpResponse<String> send(String method, String path, String authorization, byte[] body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static void assertAnswer(HttpResponse<String> response, int status, String json) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(response.body()).isEqualTo(json);
  }

  static String publisher() {
    return "Bearer " + ServerFixture.TOKEN;
  }

  @Test
  void publishAnswers() throws Exception {
    byte[] pkg = TestRepository.randomBytes(1000, 3);
    String sha = Hashes.sha256(pkg);
    String blobPath = "blobs/sha256/" + sha.substring(0, 2) + "/" + sha;
    assertAnswer(send("PUT", "v1/blobs/" + sha, publisher(), pkg), 201,
        "{\"created\":true,\"etag\":\"\\\"" + sha + "\\\"\",\"path\":\"" + blobPath + "\"}");
    assertAnswer(send("PUT", "v1/blobs/" + sha, publisher(), pkg), 200,
        "{\"created\":false,\"etag\":\"\\\"" + sha + "\\\"\",\"path\":\"" + blobPath + "\"}");

    byte[] manifest = repo.manifest("demo", "1.0.0", 1, pkg);
    String manifestTag = "\\\"" + Hashes.sha256(manifest) + "\\\"";
    assertAnswer(send("PUT", "v1/apps/demo/releases/1.0.0", publisher(), manifest), 201,
        "{\"created\":true,\"etag\":\"" + manifestTag + "\",\"path\":\"apps/demo/releases/1.0.0/release.json\"}");
    assertAnswer(send("PUT", "v1/apps/demo/releases/1.0.0", publisher(), manifest), 200,
        "{\"created\":false,\"etag\":\"" + manifestTag + "\",\"path\":\"apps/demo/releases/1.0.0/release.json\"}");

    byte[] pointer = repo.pointer("demo", "stable", "1.0.0", 1, manifest);
    HttpResponse<String> created = client.send(HttpRequest.newBuilder(server.uri().resolve("v1/apps/demo/channels/stable"))
        .header("Authorization", publisher()).header("If-None-Match", "*")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(pointer)).build(), HttpResponse.BodyHandlers.ofString());
    assertAnswer(created, 201, "{\"created\":true,\"etag\":\"\\\"" + Hashes.sha256(pointer)
        + "\\\"\",\"path\":\"apps/demo/channels/stable.json\"}");

    SigningKey newRootKey = SigningKey.generate();
    byte[] rotation = Envelopes.sign(DocumentType.ROOT, TestRepository.root(2, newRootKey, repo.releaseKey),
        List.of(repo.rootKey, newRootKey));
    assertAnswer(send("PUT", "v1/roots/2", publisher(), rotation), 201, "{\"created\":true,\"version\":2}");
    assertAnswer(send("PUT", "v1/roots/2", publisher(), rotation), 200, "{\"created\":false,\"version\":2}");
  }

  @Test
  void claimAnswers() throws Exception {
    byte[] pkg = TestRepository.randomBytes(100, 4);
    send("PUT", "v1/blobs/" + Hashes.sha256(pkg), publisher(), pkg);
    send("PUT", "v1/apps/demo/releases/1.0.0", publisher(), repo.manifest("demo", "1.0.0", 1, pkg));
    byte[] request = "{\"app\":\"demo\",\"version\":\"1.0.0\",\"scope\":\"wave-1\",\"node\":\"node-1\"}"
        .getBytes(StandardCharsets.UTF_8);
    String grant = "{\"app\":\"demo\",\"capacity\":1,\"claimedAt\":\"" + NOW + "\",\"created\":%s,\"node\":\"node-1\","
        + "\"scope\":\"wave-1\",\"slot\":0,\"type\":\"claim\",\"version\":\"1.0.0\"}";
    assertAnswer(send("POST", "v1/claims", ServerFixture.nodeAuth("node-1"), request), 201, grant.formatted("true"));
    assertAnswer(send("POST", "v1/claims", ServerFixture.nodeAuth("node-1"), request), 200, grant.formatted("false"));
    assertAnswer(send("POST", "v1/claims", publisher(), request), 200, grant.formatted("false"));
  }

  @Test
  void whoamiAnswers() throws Exception {
    assertAnswer(send("GET", "v1/whoami", publisher(), null), 200,
        "{\"caller\":\"publisher\",\"maxBlobSize\":4294967296}");
    assertAnswer(send("GET", "v1/whoami", ServerFixture.nodeAuth("node-1"), null), 200,
        "{\"caller\":\"node\",\"node\":\"node-1\"}");
  }

  @Test
  void feedbackAndStatusAnswers() throws Exception {
    Instant t = Instant.parse("2026-11-20T10:00:00Z");
    byte[] committed = FeedbackApiTest.report("node-1", "ev-1", 0, "1.0.0", "1.1.0", "COMMITTED", t);
    assertAnswer(send("POST", "v1/feedback", ServerFixture.nodeAuth("node-1"), committed), 201,
        "{\"path\":\"feedback/demo/node-1/ev-1/0.json\",\"stored\":true}");
    assertAnswer(send("POST", "v1/feedback", ServerFixture.nodeAuth("node-1"), committed), 200,
        "{\"path\":\"feedback/demo/node-1/ev-1/0.json\",\"stored\":false}");
    byte[] rolledBack = FeedbackApiTest.report("node-2", "ev-2", 3, "1.0.0", "1.1.0", "ROLLED_BACK", t.plusSeconds(5));
    send("POST", "v1/feedback", ServerFixture.nodeAuth("node-2"), rolledBack);
    // A failed first install: no version before it, so the node runs none.
    byte[] firstInstall = FeedbackApiTest.report("node-3", "ev-3", 0, null, "1.1.0", "FAILED", t.plusSeconds(9));
    send("POST", "v1/feedback", ServerFixture.nodeAuth("node-3"), firstInstall);

    String steps = "[{\"durationMillis\":1200,\"outcome\":\"OK\",\"startedAt\":\"%1$s\",\"state\":\"DOWNLOAD\"},"
        + "{\"durationMillis\":15,\"outcome\":\"OK\",\"startedAt\":\"%2$s\",\"state\":\"SWITCH\"},"
        + "{\"durationMillis\":5000,\"outcome\":\"OK\",\"startedAt\":\"%3$s\",\"state\":\"VERIFY\"}]";
    String failedSteps = "[{\"durationMillis\":1200,\"outcome\":\"OK\",\"startedAt\":\"%1$s\",\"state\":\"DOWNLOAD\"},"
        + "{\"durationMillis\":15,\"outcome\":\"OK\",\"startedAt\":\"%2$s\",\"state\":\"SWITCH\"},"
        + "{\"durationMillis\":5000,\"errorCode\":\"HEALTH_CHECK_FAILED\",\"message\":\"health check answered 503\","
        + "\"outcome\":\"FAILED\",\"startedAt\":\"%3$s\",\"state\":\"VERIFY\"}]";
    String expected = "{\"apps\":{\"demo\":{\"nodesByVersion\":{\"1.0.0\":1,\"1.1.0\":1,\"none\":1},"
        + "\"releases\":{\"1.1.0\":{\"COMMITTED\":1,\"FAILED\":1,\"ROLLED_BACK\":1}}}},"
        + "\"controller\":\"no rollout controller: this server was started without --rollout-key-file, so it signs"
        + " no rollout state and gives no slots\","
        + "\"expiring\":[],"
        + "\"generatedAt\":\"" + NOW + "\","
        + "\"nodes\":{"
        + "\"node-1\":{\"apps\":{\"demo\":{\"currentVersion\":\"1.1.0\",\"lastEvent\":{\"durationMillis\":6215,"
        + "\"eventId\":\"ev-1\",\"finalState\":\"END\",\"fromVersion\":\"1.0.0\",\"outcome\":\"COMMITTED\","
        + "\"sentAt\":\"" + t + "\",\"sequence\":0,\"steps\":" + steps(steps, t) + ",\"toVersion\":\"1.1.0\"},"
        + "\"reports\":1}},\"storedBytes\":" + committed.length + "},"
        + "\"node-2\":{\"apps\":{\"demo\":{\"currentVersion\":\"1.0.0\",\"lastEvent\":{\"durationMillis\":6215,"
        + "\"errorCode\":\"HEALTH_CHECK_FAILED\",\"eventId\":\"ev-2\",\"finalState\":\"END\",\"fromVersion\":\"1.0.0\","
        + "\"outcome\":\"ROLLED_BACK\",\"sentAt\":\"" + t.plusSeconds(5) + "\",\"sequence\":3,\"steps\":"
        + steps(failedSteps, t.plusSeconds(5)) + ",\"toVersion\":\"1.1.0\"},"
        + "\"reports\":1}},\"storedBytes\":" + rolledBack.length + "},"
        + "\"node-3\":{\"apps\":{\"demo\":{\"currentVersion\":null,\"lastEvent\":{\"durationMillis\":6215,"
        + "\"eventId\":\"ev-3\",\"finalState\":\"END\",\"outcome\":\"FAILED\",\"sentAt\":\"" + t.plusSeconds(9)
        + "\",\"sequence\":0,\"steps\":" + steps(steps, t.plusSeconds(9)) + ",\"toVersion\":\"1.1.0\"},"
        + "\"reports\":1}},\"storedBytes\":" + firstInstall.length + "}}}";
    assertAnswer(send("GET", "v1/status", null, null), 200, expected);
  }

  /** The steps of {@link FeedbackApiTest#report} sent at {@code sentAt}. */
  static String steps(String format, Instant sentAt) {
    Instant start = sentAt.minusSeconds(30);
    return format.formatted(start, start.plusSeconds(2), start.plusSeconds(3));
  }

  @Test
  void errorAnswers() throws Exception {
    assertAnswer(send("GET", "v1/nothing", null, null), 404,
        "{\"code\":\"NOT_FOUND\",\"message\":\"no API at /v1/nothing; see docs/repo-server.md for the endpoints\"}");
    assertAnswer(send("GET", "v1/whoami", null, null), 401, "{\"code\":\"AUTH_REQUIRED\",\"message\":\"send"
        + " 'Authorization: Bearer <publisher token>' or 'Authorization: Basic base64(<node>:<credential>)'\"}");
    assertAnswer(send("DELETE", "v1/claims", null, null), 400,
        "{\"code\":\"REQUEST_INVALID\",\"message\":\"DELETE is not allowed here; use POST\"}");
  }
}
