package io.upgradekit.it.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {
  @Test
  void countsAnswersVersionsAndHttpErrors() throws Exception {
    AtomicInteger n = new AtomicInteger();
    HttpServer server = server(exchange -> {
      int i = n.incrementAndGet();
      byte[] body = "hi\n".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("X-Version", i <= 10 ? "1.0.0" : "2.0.0");
      exchange.sendResponseHeaders(i == 5 ? 503 : 200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    try {
      LoadGenerator load = LoadGenerator.builder().rate(100).target("a", url(server)).build().start();
      Thread.sleep(500);
      LoadReport report = load.stop();

      LoadReport.Stats a = report.target("a");
      assertThat(a.total()).isBetween(40, 60);
      assertThat(a.failed()).isEqualTo(1);
      assertThat(a.failures()).containsEntry("http-503", 1);
      assertThat(a.versions()).containsOnlyKeys("1.0.0", "2.0.0");
      assertThat(a.versions().get("1.0.0").count()).isEqualTo(9);
      assertThat(a.p50()).isNotNull();
      assertThat(report.overall().total()).isEqualTo(a.total());
    } finally {
      server.stop(0);
    }
  }

  @Test
  void aStoppedServerIsRefusedConnectionsAndAGap() throws Exception {
    HttpServer server = server(exchange -> {
      byte[] body = "ok\n".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    URI url = url(server);
    LoadGenerator load = LoadGenerator.builder().rate(200).target("a", url).build().start();
    Thread.sleep(300);
    server.stop(0);
    Thread.sleep(400);
    LoadReport report = load.stop();

    LoadReport.Stats a = report.target("a");
    assertThat(a.failures()).containsKey("refused");
    assertThat(a.failed()).isGreaterThan(40);
    // From the last answer (about 300 ms in) to the stop (about 700 ms in): no retries hide the gap.
    assertThat(a.longestGap()).isBetween(Duration.ofMillis(250), Duration.ofMillis(1500));
    assertThat(report.failures()).allSatisfy(s -> assertThat(s.ok()).isFalse());
  }

  @Test
  void spreadsRequestsOverTargetsInTurn() throws Exception {
    HttpServer one = server(exchange -> answer(exchange, "one"));
    HttpServer two = server(exchange -> answer(exchange, "two"));
    try {
      LoadGenerator load = LoadGenerator.builder().rate(100).target("one", url(one)).target("two", url(two))
          .build().start();
      Thread.sleep(400);
      LoadReport report = load.stop();
      assertThat(report.targets()).extracting(LoadReport.Stats::name).containsExactly("one", "two");
      assertThat(Math.abs(report.target("one").total() - report.target("two").total())).isLessThanOrEqualTo(1);
      assertThat(report.target("one").versions()).containsOnlyKeys("one");
      assertThat(report.table()).contains("one", "two", "all");
    } finally {
      one.stop(0);
      two.stop(0);
    }
  }

  private static void answer(com.sun.net.httpserver.HttpExchange exchange, String version) throws java.io.IOException {
    exchange.getResponseHeaders().add("X-Version", version);
    exchange.sendResponseHeaders(200, 0);
    exchange.getResponseBody().write(version.getBytes(StandardCharsets.UTF_8));
    exchange.close();
  }

  private static HttpServer server(com.sun.net.httpserver.HttpHandler handler) throws java.io.IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
    server.createContext("/", handler);
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "test-http");
      t.setDaemon(true);
      return t;
    }));
    server.start();
    return server;
  }

  private static URI url(HttpServer server) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }
}
