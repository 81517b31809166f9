package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.HttpFailure;
import io.upgradekit.updater.download.RepositoryClient;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * GATE: asks repo-server for a rollout slot ({@code POST /v1/claims} with {@code app}, {@code
 * version}, {@code scope} and {@code node}, authenticated as the node) and waits while the server
 * says "not yet" (409 SCOPE_FULL, 423, 429, 503; {@code Retry-After} honoured), up to {@code
 * gate.timeout}. 201 (new slot) and 200 (already held) open the gate. Nothing live has changed
 * while waiting.
 */
final class Gate {
  private static final Duration DEFAULT_WAIT = Duration.ofSeconds(5);

  private final UpdaterConfig config;
  private final RepositoryClient client;
  private final Clock clock;
  private final Consumer<String> log;

  Gate(UpdaterConfig config, RepositoryClient client, Clock clock, Consumer<String> log) {
    this.config = config;
    this.client = client;
    this.clock = clock;
    this.log = log;
  }

  void await(String version) {
    URI url = config.repository().resolve("v1/claims");
    Map<String, Object> body = new TreeMap<>();
    body.put("app", config.app());
    body.put("version", version);
    body.put("node", config.node().id());
    body.put("scope", config.gate().scope());
    byte[] json = Json.canonicalBytes(body);
    Map<String, String> headers = Map.of("Authorization", config.node().authorization(),
        "X-Upgradekit-Node", config.node().id());
    Instant deadline = clock.instant().plus(config.gate().timeout());
    while (true) {
      Duration wait = DEFAULT_WAIT;
      String why;
      try {
        RepositoryClient.Fetched answer = client.post(url, json, headers);
        int status = answer.status();
        if (status == 200 || status == 201) {
          log.accept("rollout slot granted for " + version);
          return;
        }
        if (status != 409 && status != 423) {
          throw new UpgradeException(ErrorCode.GATE_CLOSED, url + " refused the claim with HTTP " + status
              + (status == 401 || status == 403 ? ": check node.id and node.credential"
                  : status == 404 ? ": the server does not know release " + version : ""));
        }
        why = "HTTP " + status;
      } catch (HttpFailure e) {
        why = e.getMessage();
        if (e.retryAfter() != null) {
          wait = e.retryAfter();
        }
      }
      if (clock.instant().plus(wait).isAfter(deadline)) {
        throw new UpgradeException(ErrorCode.GATE_CLOSED, "the rollout gave this node no slot for " + version
            + " within gate.timeout (" + config.gate().timeout() + "; last answer: " + why + ")");
      }
      log.accept("waiting for a rollout slot (" + why + "); next try in " + wait.toSeconds() + " s");
      try {
        Thread.sleep(wait.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UpgradeException(ErrorCode.GATE_CLOSED, "interrupted while waiting for a rollout slot");
      }
    }
  }
}
