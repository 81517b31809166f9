package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.ClaimGrant;
import io.upgradekit.schema.api.ClaimRequest;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.updater.config.UpdaterConfig;
import io.upgradekit.updater.download.HttpFailure;
import io.upgradekit.updater.download.RepositoryClient;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/**
 * GATE, in two optional parts. With {@code gate.rolloutState}: waits until the release's signed
 * rollout state ({@code apps/<app>/rollout/<version>.json}, rollout role) says {@code proceed};
 * missing or expired state means pause, {@code halt} and {@code recall} close the gate. With
 * {@code gate.claims}: asks repo-server for a rollout slot ({@code POST /v1/claims} with a {@code
 * claim-request}: {@code app}, {@code version}, {@code scope} and {@code node}, authenticated as the
 * node) and waits while the server
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
  private long lastRolloutSequence;

  Gate(UpdaterConfig config, RepositoryClient client, Clock clock, Consumer<String> log) {
    this.config = config;
    this.client = client;
    this.clock = clock;
    this.log = log;
  }

  void await(String version, MetadataVerifier verifier) {
    Instant deadline = clock.instant().plus(config.gate().timeout());
    if (config.gate().rolloutState()) {
      awaitRolloutState(version, verifier, deadline);
    }
    if (config.gate().claims()) {
      claimSlot(version, deadline);
    }
  }

  /**
   * Waits for the release's signed rollout state to say {@code proceed}. Missing or expired state
   * is "pause" (never "proceed"); {@code halt} and {@code recall} close the gate.
   */
  private void awaitRolloutState(String version, MetadataVerifier verifier, Instant deadline) {
    String path = RepositoryLayout.rolloutState(config.app(), version);
    while (true) {
      String why;
      Duration wait = DEFAULT_WAIT;
      try {
        RepositoryClient.Fetched fetched = client.fetch(path, DocumentType.ROLLOUT.maxBytes(), null);
        if (fetched.notFound()) {
          why = "no rollout state is published for " + version + " yet";
        } else {
          RolloutState state = verifier.verifyRolloutState(fetched.body(), config.app(), version, lastRolloutSequence);
          lastRolloutSequence = state.sequence();
          switch (state.action()) {
            case PROCEED -> {
              log.accept("the rollout of " + version + " says proceed");
              return;
            }
            case HALT -> throw new UpgradeException(ErrorCode.GATE_CLOSED, "the rollout of " + version
                + " is halted; this node stays on its version");
            case RECALL -> throw new UpgradeException(ErrorCode.GATE_CLOSED, "release " + version
                + " is recalled (to " + state.recallTo() + "); it is not installed");
            default -> why = "the rollout of " + version + " is paused";
          }
        }
      } catch (UpgradeException e) {
        if (e.code() != ErrorCode.METADATA_EXPIRED && !(e instanceof HttpFailure)) {
          throw e; // a forged or malformed rollout state is refused like any other document
        }
        why = e.code() == ErrorCode.METADATA_EXPIRED ? "the rollout state is stale (pause)" : e.getMessage();
        if (e instanceof HttpFailure h && h.retryAfter() != null) {
          wait = h.retryAfter();
        }
      }
      pause(why, wait, deadline, version);
    }
  }

  /**
   * The version to switch back to when the signed rollout state of the installed release says
   * {@code recall}; null otherwise (no state, stale state, any other action).
   */
  String recallTarget(String installed, MetadataVerifier verifier) {
    RepositoryClient.Fetched fetched = client.fetch(RepositoryLayout.rolloutState(config.app(), installed),
        DocumentType.ROLLOUT.maxBytes(), null);
    if (fetched.notFound()) {
      return null;
    }
    try {
      RolloutState state = verifier.verifyRolloutState(fetched.body(), config.app(), installed, 0);
      return state.action() == RolloutState.Action.RECALL ? state.recallTo() : null;
    } catch (UpgradeException e) {
      if (e.code() == ErrorCode.METADATA_EXPIRED) {
        return null; // stale state is a pause, never an order
      }
      throw e;
    }
  }

  private void pause(String why, Duration wait, Instant deadline, String version) {
    if (clock.instant().plus(wait).isAfter(deadline)) {
      throw new UpgradeException(ErrorCode.GATE_CLOSED, "the rollout did not let this node install " + version
          + " within gate.timeout (" + config.gate().timeout() + "; last answer: " + why + ")");
    }
    log.accept("waiting at the rollout gate (" + why + "); next try in " + wait.toSeconds() + " s");
    try {
      Thread.sleep(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UpgradeException(ErrorCode.GATE_CLOSED, "interrupted while waiting at the rollout gate");
    }
  }

  private void claimSlot(String version, Instant deadline) {
    URI url = config.repository().resolve("v1/claims");
    byte[] json = ApiBody.CLAIM_REQUEST.write(
        new ClaimRequest(config.app(), version, config.gate().scope(), config.node().id()));
    Map<String, String> headers = Map.of("Authorization", config.node().authorization(),
        "X-Upgradekit-Node", config.node().id());
    while (true) {
      Duration wait = DEFAULT_WAIT;
      String why;
      try {
        RepositoryClient.Fetched answer = client.post(url, json, headers);
        int status = answer.status();
        if (status == 200 || status == 201) {
          log.accept("rollout slot granted for " + version + granted(answer.body()));
          return;
        }
        String error = answer.error().map(e -> " (" + e.code() + ": " + e.message() + ")").orElse("");
        if (status != 409 && status != 423) {
          throw new UpgradeException(ErrorCode.GATE_CLOSED, url + " refused the claim with HTTP " + status
              + (status == 401 || status == 403 ? ": check node.id and node.credential"
                  : status == 404 ? ": the server does not know release " + version : "") + error);
        }
        why = "HTTP " + status + error;
      } catch (HttpFailure e) {
        why = e.getMessage();
        if (e.retryAfter() != null) {
          wait = e.retryAfter();
        }
      }
      pause("no rollout slot: " + why, wait, deadline, version);
    }
  }

  /**
   * What a grant says, for the log. The status opens the gate, as it always did: the grant is read
   * strictly, but one that is not a grant (a proxy's or an older server's body) is noted, not
   * refused.
   */
  private static String granted(byte[] body) {
    try {
      ClaimGrant grant = ApiBody.CLAIM_GRANT.read(body);
      return ": slot " + grant.slot() + " of " + grant.capacity() + " in " + grant.scope();
    } catch (UpgradeException e) {
      return " (the answer is not a claim grant: " + e.getMessage() + ")";
    }
  }
}
