package io.upgradekit.updater.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.model.Feedback;
import io.upgradekit.schema.model.StepReport;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.testsupport.RepoSimulator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A refused report stays in the outbox, and the log says the server's code and sentence. */
@Timeout(60)
class OutboxRefusalTest {
  @TempDir Path tmp;

  @Test
  void theServersErrorAnswerReachesTheLog() throws Exception {
    List<String> log = new CopyOnWriteArrayList<>();
    Outbox outbox = new Outbox(tmp.resolve("outbox"), Clock.systemUTC(), log::add);
    Instant t = Instant.parse("2026-11-22T10:00:00Z");
    outbox.put(new Feedback("feedback", "ev-1", 0, "node-1", "demo", null, "1.0.0", "END", "COMMITTED",
        List.of(new StepReport("SWITCH", t, 15, "OK", null, null)), null, null, null, t));
    try (RepoSimulator server = new RepoSimulator(tmp.resolve("repo"))) {
      server.on("v1/feedback").status(413)
          .body("{\"code\":\"QUOTA_EXCEEDED\",\"message\":\"node node-1 has 64 MiB stored\"}".getBytes(StandardCharsets.UTF_8));
      RepositoryClient client = new RepositoryClient(server.base(), limits());
      assertThat(outbox.deliver(client, server.base().resolve("v1/feedback"), "node-1", null, true)).isZero();
    }
    assertThat(outbox.count()).isEqualTo(1);
    assertThat(log).anyMatch(line -> line.contains("refused report ev-1-0 with HTTP 413 (QUOTA_EXCEEDED: node node-1"
        + " has 64 MiB stored); it stays in the outbox"));
  }

  static UpdaterConfig.Limits limits() {
    return io.upgradekit.updater.config.ConfigLoader.parse(Path.of("/etc/demo.yaml"), """
        repository:
          url: http://127.0.0.1:1/repo
          trustRoot: root.json
        app: demo
        channel: stable
        home: /opt/demo
        node:
          id: node-1
        service:
          process:
            command: [java, -jar, current/app.jar]
        health:
          url: http://127.0.0.1:8080/health
        """).limits();
  }
}
