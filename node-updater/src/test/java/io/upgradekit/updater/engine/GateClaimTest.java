package io.upgradekit.updater.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.updater.config.ConfigLoader;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.RepositoryClient;
import io.upgradekit.updater.testsupport.RepoSimulator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate's claim on the wire: the request is a {@code claim-request}, a grant is read as a
 * {@code claim-grant}, and a refusal says the server's code and sentence.
 */
@Timeout(60)
class GateClaimTest {
  @TempDir Path tmp;
  RepoSimulator server;
  Gate gate;
  final List<String> log = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = new RepoSimulator(tmp);
    UpdaterConfig config = ConfigLoader.parse(tmp.resolve("demo.yaml"), """
        repository:
          url: %s
          trustRoot: root.json
        app: demo
        channel: stable
        home: %s
        node:
          id: node-1
          credential: test-credential
        gate:
          claims: true
          scope: wave-1
          timeout: 1s
        service:
          process:
            command: [java, -jar, current/app.jar]
        health:
          url: http://127.0.0.1:8080/health
        """.formatted(server.base(), tmp.resolve("home")));
    gate = new Gate(config, new RepositoryClient(config.repository(), config.limits()), Clock.systemUTC(), log::add);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theRequestIsAClaimRequestAndTheGrantIsLogged() {
    server.on("v1/claims").body(bytes("{\"app\":\"demo\",\"capacity\":5,\"claimedAt\":\"2026-11-22T10:00:00Z\","
        + "\"created\":true,\"node\":\"node-1\",\"scope\":\"wave-1\",\"slot\":2,\"type\":\"claim\",\"version\":\"2.0.0\"}"));
    gate.await("2.0.0", null);
    assertThat(new String(server.requests("v1/claims").get(0).body(), StandardCharsets.UTF_8))
        .isEqualTo("{\"app\":\"demo\",\"node\":\"node-1\",\"scope\":\"wave-1\",\"version\":\"2.0.0\"}");
    assertThat(log).contains("rollout slot granted for 2.0.0: slot 2 of 5 in wave-1");
  }

  @Test
  void theStatusOpensTheGateEvenIfTheAnswerIsNotAGrant() {
    gate.await("2.0.0", null); // the simulator answers 201 with {}
    assertThat(log).anyMatch(line -> line.startsWith("rollout slot granted for 2.0.0 (the answer is not a claim grant"));
  }

  @Test
  void aRefusalSaysTheServersCodeAndSentence() {
    server.claimStatus = 403;
    server.on("v1/claims").body(bytes("{\"code\":\"ACCESS_DENIED\",\"message\":\"node node-1 cannot claim for node x\"}"));
    assertThatThrownBy(() -> gate.await("2.0.0", null)).isInstanceOfSatisfying(UpgradeException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.GATE_CLOSED);
      assertThat(e.getMessage()).contains("refused the claim with HTTP 403: check node.id and node.credential"
          + " (ACCESS_DENIED: node node-1 cannot claim for node x)");
    });
  }

  @Test
  void aFullScopeSaysSoWhenTheGateTimesOut() {
    server.claimStatus = 409;
    server.on("v1/claims").body(bytes("{\"code\":\"SCOPE_FULL\",\"message\":\"all 5 slots are taken\"}"));
    assertThatThrownBy(() -> gate.await("2.0.0", null)).isInstanceOfSatisfying(UpgradeException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.GATE_CLOSED);
      assertThat(e.getMessage()).contains("no rollout slot: HTTP 409 (SCOPE_FULL: all 5 slots are taken)");
    });
  }
}
