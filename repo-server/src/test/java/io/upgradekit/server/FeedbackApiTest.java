package io.upgradekit.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeedbackApiTest {
  @TempDir Path root;
  ServerFixture server;

  @BeforeEach
  void start() throws Exception {
    server = new ServerFixture(root);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  static byte[] report(String node, String eventId, long sequence, String from, String to, String outcome,
      Instant sentAt) {
    Instant start = sentAt.minusSeconds(30);
    List<StepReport> steps = List.of(
        new StepReport("DOWNLOAD", start, 1200, "OK", null, null),
        new StepReport("SWITCH", start.plusSeconds(2), 15, "OK", null, null),
        new StepReport("VERIFY", start.plusSeconds(3), 5000,
            outcome.equals("ROLLED_BACK") ? "FAILED" : "OK",
            outcome.equals("ROLLED_BACK") ? "HEALTH_CHECK_FAILED" : null,
            outcome.equals("ROLLED_BACK") ? "health check answered 503" : null));
    Feedback feedback = new Feedback("feedback", eventId, sequence, node, "demo", from, to, "END", outcome, steps,
        outcome.equals("ROLLED_BACK") ? "HEALTH_CHECK_FAILED" : null, null, Map.of("baseline.error_rate", 0.01),
        sentAt);
    return Json.canonicalBytes(feedback);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object value) {
    return (Map<String, Object>) value;
  }

  long storedFiles() throws Exception {
    Path dir = root.resolve("feedback");
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void aReportIsStoredDurablyOnceAndFeedsTheStatus() throws Exception {
    Instant t = Instant.parse("2026-11-20T10:00:00Z");
    byte[] report = report("node-1", "ev-1", 0, "1.0.0", "1.1.0", "COMMITTED", t);
    HttpResponse<String> stored = server.postAsNode("/v1/feedback", "node-1", report);
    assertThat(stored.statusCode()).as(stored.body()).isEqualTo(201);
    assertThat(root.resolve("feedback/demo/node-1/ev-1/0.json")).hasBinaryContent(report);

    HttpResponse<String> resent = server.postAsNode("/v1/feedback", "node-1", report);
    assertThat(resent.statusCode()).isEqualTo(200);
    assertThat(resent.body()).contains("\"stored\":false");
    assertThat(storedFiles()).isEqualTo(1);

    server.postAsNode("/v1/feedback", "node-2",
        report("node-2", "ev-9", 0, "1.0.0", "1.1.0", "ROLLED_BACK", t.plusSeconds(5)));
    server.postAsNode("/v1/feedback", "node-3",
        report("node-3", "ev-3", 0, "1.0.0", "1.1.0", "COMMITTED", t.plusSeconds(5)));
    HttpResponse<String> status = server.get("/v1/status");
    assertThat(status.statusCode()).isEqualTo(200);
    Map<String, Object> body = map(Json.read(status.body().getBytes(), Map.class, "status"));
    Map<String, Object> demo = map(map(body.get("apps")).get("demo"));
    assertThat(map(map(demo.get("releases")).get("1.1.0")))
        .containsEntry("COMMITTED", 2).containsEntry("ROLLED_BACK", 1);
    assertThat(map(demo.get("nodesByVersion"))).containsEntry("1.1.0", 2).containsEntry("1.0.0", 1);
    Map<String, Object> node2 = map(map(map(map(body.get("nodes")).get("node-2")).get("apps")).get("demo"));
    assertThat(node2.get("currentVersion")).isEqualTo("1.0.0");
    Map<String, Object> last = map(node2.get("lastEvent"));
    assertThat(last.get("errorCode")).isEqualTo("HEALTH_CHECK_FAILED");
    assertThat((List<?>) last.get("steps")).hasSize(3);
    assertThat(last.get("durationMillis")).isEqualTo(6215);

    String metrics = server.get("/metrics").body();
    assertThat(metrics).contains("upgradekit_feedback_total{outcome=\"stored\"} 3",
        "upgradekit_feedback_total{outcome=\"duplicate\"} 1", "upgradekit_nodes{app=\"demo\",version=\"1.1.0\"} 2");
  }

  @Test
  void theStatusIsRebuiltFromStoredReportsAtStart() throws Exception {
    Instant t = Instant.parse("2026-11-20T10:00:00Z");
    server.postAsNode("/v1/feedback", "node-1", report("node-1", "ev-1", 0, "1.0.0", "1.1.0", "IN_PROGRESS", t));
    server.postAsNode("/v1/feedback", "node-1",
        report("node-1", "ev-1", 1, "1.0.0", "1.1.0", "COMMITTED", t.plusSeconds(60)));
    server.close();
    server = new ServerFixture(root);
    String status = server.get("/v1/status").body();
    assertThat(status).contains("\"currentVersion\":\"1.1.0\"", "\"sequence\":1");
  }

  @Test
  void aRefreshingServerSeesWhatAnotherProcessStored() throws Exception {
    try (ServerFixture other = new ServerFixture(root, b -> b.statusRefresh(java.time.Duration.ofSeconds(1)))) {
      assertThat(server.postAsNode("/v1/feedback", "node-9",
          report("node-9", "ev-1", 0, "1.0.0", "1.1.0", "COMMITTED", Instant.now())).statusCode()).isEqualTo(201);
      long deadline = System.nanoTime() + 10_000_000_000L;
      String status = other.get("/v1/status").body();
      while (!status.contains("node-9") && System.nanoTime() < deadline) {
        Thread.sleep(200);
        status = other.get("/v1/status").body();
      }
      assertThat(status).contains("\"node-9\"", "\"currentVersion\":\"1.1.0\"");
    }
  }

  @Test
  void aNodeReportsOnlyForItselfAndWithItsCredential() throws Exception {
    byte[] report = report("node-1", "ev-1", 0, "1.0.0", "1.1.0", "COMMITTED", Instant.now());
    HttpResponse<String> impersonation = server.postAsNode("/v1/feedback", "node-2", report);
    assertThat(impersonation.statusCode()).isEqualTo(403);
    assertThat(impersonation.body()).contains("ACCESS_DENIED");

    HttpResponse<String> wrongCredential = server.send(server.request("/v1/feedback")
        .header("Authorization", ServerFixture.basic("node-1", ServerFixture.CREDENTIALS.credentialFor("node-2")))
        .POST(HttpRequest.BodyPublishers.ofByteArray(report)).build());
    assertThat(wrongCredential.statusCode()).isEqualTo(401);
    HttpResponse<String> missing = server.send(server.request("/v1/feedback")
        .POST(HttpRequest.BodyPublishers.ofByteArray(report)).build());
    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(missing.body()).contains("AUTH_REQUIRED");
    HttpResponse<String> publisher = server.send(server.request("/v1/feedback")
        .header("Authorization", "Bearer " + ServerFixture.TOKEN)
        .POST(HttpRequest.BodyPublishers.ofByteArray(report)).build());
    assertThat(publisher.statusCode()).isEqualTo(401);
    HttpResponse<String> garbage = server.send(server.request("/v1/feedback")
        .header("Authorization", "Basic %%%not-base64")
        .POST(HttpRequest.BodyPublishers.ofByteArray(report)).build());
    assertThat(garbage.statusCode()).isEqualTo(401);
    assertThat(storedFiles()).isZero();
  }
}
