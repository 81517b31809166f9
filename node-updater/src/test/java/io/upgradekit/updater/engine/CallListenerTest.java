package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.upgradekit.schema.api.NodeCall;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.event.AgentEvent;
import io.upgradekit.updater.testsupport.FakeApplier;
import io.upgradekit.updater.testsupport.TestRepo;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class CallListenerTest {
  @TempDir
  Path tmp;

  private HttpServer server;
  /** What the server answers, in order: a status and a body. */
  private final Deque<Object[]> answers = new ArrayDeque<>();
  private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
  private final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());
  private final List<AgentEvent.Note> notes = Collections.synchronizedList(new ArrayList<>());
  private Path configFile;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", exchange -> {
      requests.add(exchange.getRequestURI().toString());
      authorizations.add(exchange.getRequestHeaders().getFirst("X-Upgradekit-Node") + " "
          + exchange.getRequestHeaders().getFirst("Authorization"));
      Object[] answer = answers.poll();
      byte[] body = ((String) answer[1]).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders((int) answer[0], body.length == 0 ? -1 : body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    TestRepo repo = new TestRepo(tmp.resolve("repo"));
    configFile = tmp.resolve("updater.yaml");
    Files.writeString(configFile, """
        repository:
          url: http://127.0.0.1:%d/
          trustRoot: %s
        app: demo
        channel: stable
        home: %s
        node:
          id: node-1
          credential: test-credential
        service:
          start: [sh, -c, "true"]
          stop: [sh, -c, "true"]
        health:
          command: [sh, -c, "true"]
        poll:
          interval: 10s
        """.formatted(server.getAddress().getPort(), repo.pinnedRoot(), tmp.resolve("home")));
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private CallListener listener(List<NodeCall> calls) {
    return new UpdateEngine(ConfigLoader.load(configFile), new FakeApplier(), Clock.systemUTC(), e -> {
      if (e instanceof AgentEvent.Note n) {
        notes.add(n);
      }
    }).callListener(calls::add);
  }

  @Test
  void aCallIsHandedOnAndItsTokenIsSentBackSoTheSameCallIsNotAnsweredTwice() {
    answers.add(new Object[] {200, "{\"call\":true,\"token\":\"2.0.0/2\",\"reason\":\"the canary wave is open\","
        + "\"pollWithinMillis\":0}"});
    answers.add(new Object[] {200, "{\"call\":false,\"token\":\"2.0.0/2\"}"});
    List<NodeCall> calls = new ArrayList<>();
    CallListener listener = listener(calls);
    assertThat(listener.enabled()).isTrue();

    assertThat(listener.listenOnce()).isEqualTo(Duration.ZERO);
    assertThat(listener.listenOnce()).isEqualTo(Duration.ZERO);

    assertThat(calls).containsExactly(new NodeCall(true, "2.0.0/2", "the canary wave is open", 0L));
    assertThat(requests).containsExactly("/v1/calls?app=demo&channel=stable&wait=25",
        "/v1/calls?app=demo&channel=stable&after=2.0.0%2F2&wait=25");
    assertThat(authorizations).allSatisfy(a -> assertThat(a).startsWith("node-1 Basic "));
  }

  @Test
  void failuresPauseLongerEachTimeUpToThePollIntervalAndAreLoggedOnce() {
    answers.add(new Object[] {401, "{\"code\":\"UNAUTHORIZED\",\"message\":\"unknown node\"}"});
    answers.add(new Object[] {200, "not json"});
    answers.add(new Object[] {200, "{\"call\":false}"});
    answers.add(new Object[] {503, ""});
    answers.add(new Object[] {503, ""});
    answers.add(new Object[] {503, ""});
    answers.add(new Object[] {503, ""});
    CallListener listener = listener(new ArrayList<>());

    assertThat(listener.listenOnce()).isEqualTo(Duration.ofSeconds(2));
    assertThat(listener.listenOnce()).isEqualTo(Duration.ofSeconds(4));
    assertThat(listener.listenOnce()).as("through again").isEqualTo(Duration.ZERO);
    assertThat(listener.listenOnce()).isEqualTo(Duration.ofSeconds(2));
    assertThat(listener.listenOnce()).isEqualTo(Duration.ofSeconds(4));
    assertThat(listener.listenOnce()).isEqualTo(Duration.ofSeconds(8));
    assertThat(listener.listenOnce()).as("at most poll.interval").isEqualTo(Duration.ofSeconds(10));

    assertThat(notes).extracting(AgentEvent.Note::message).filteredOn(m -> m.startsWith("asking")).hasSize(2)
        .first().asString().contains("HTTP 401 (check node.id and node.credential)");
    assertThat(notes).extracting(AgentEvent.Note::message).contains("calls get through again (after 2 failed)");
  }

  @Test
  void aRepositoryWithoutCallsEndsTheListenerForThisRun() throws Exception {
    answers.add(new Object[] {404, ""});
    CallListener listener = listener(new ArrayList<>());

    assertThat(listener.listenOnce()).isNull();
    assertThat(notes).extracting(AgentEvent.Note::message).anySatisfy(m -> assertThat(m)
        .contains("answers no calls").contains("learns of rollouts at its polls"));

    // The thread ends by itself on that answer.
    answers.add(new Object[] {404, ""});
    listener.start();
    long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (requests.size() < 2 && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    Thread.sleep(200);
    assertThat(requests).hasSize(2);
    listener.close();
  }

  @Test
  void withoutACredentialOrWithCallsOffTheNodeDoesNotAsk() throws IOException {
    Files.writeString(configFile, Files.readString(configFile).replace("  credential: test-credential\n", ""));
    assertThat(listener(new ArrayList<>()).enabled()).isFalse();
    Files.writeString(configFile, Files.readString(configFile).replace("  interval: 10s\n",
        "  interval: 10s\n  calls: false\n").replace("  id: node-1\n", "  id: node-1\n  credential: c\n"));
    CallListener off = listener(new ArrayList<>());
    assertThat(off.enabled()).isFalse();
    off.start();
    off.close();
    assertThat(requests).isEmpty();
  }
}
