package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Map;

/**
 * The live state of one release's rollout, signed by the rollout role (online, short-lived). It
 * can only steer among releases the release role signed; stale state means "pause".
 *
 * @param type always {@code "rollout"}
 * @param app the app
 * @param version the release being rolled out
 * @param sequence increases with every change; nodes refuse a lower one
 * @param expires short; after it nodes treat the rollout as paused, never as proceeding
 * @param action what nodes should do now
 * @param openWaves how many waves may upgrade (for {@code proceed}), or null
 * @param recallTo for {@code recall}: the version most nodes on this release came from (each node
 *     switches back to the version it came from itself; this is the fleet's), or null
 * @param waves how many waves the rollout has, or null
 * @param recallFrom during a recall: nodes of this wave and later ones may switch back (waves go back
 *     in reverse), or null
 * @param retries nodes an operator let retry after a failure, with a count that grows with every
 *     retry (a node retries when its count is higher than the one it last acted on), or null
 * @param decision the sequence of the controller decision this state reflects, or null
 * @param set the release set that rolls this release out ({@code sets/<set>/<setVersion>.json}), or
 *     null: a node whose release is bound by one of the set's contracts checks it against the set's
 *     signed state ({@link SetState}) before it asks for a slot
 * @param setVersion the version of {@code set}; present exactly when {@code set} is
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutState(
    String type, String app, String version, long sequence, Instant expires, Action action, Integer openWaves,
    String recallTo, Integer waves, Integer recallFrom, Map<String, Integer> retries, Long decision, String set,
    String setVersion) implements SignedDocument {
  /** Nodes a state names in {@code retries} at most (the rest retry with a later state). */
  public static final int MAX_RETRIES = 1000;

  public enum Action {
    @JsonProperty("proceed")
    PROCEED,
    @JsonProperty("pause")
    PAUSE,
    @JsonProperty("halt")
    HALT,
    @JsonProperty("recall")
    RECALL
  }

  public RolloutState {
    Checks.type(type, DocumentType.ROLLOUT);
    Names.requireApp(app);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(expires, "expires");
    Checks.required(action, "action");
    if (openWaves != null) {
      Checks.nonNegative(openWaves, "openWaves");
    }
    if (recallTo != null) {
      Names.requireVersion(recallTo);
    }
    if (action == Action.RECALL && recallTo == null) {
      throw Checks.malformed("a recall names the version to return to (recallTo)");
    }
    if (waves != null) {
      Checks.positive(waves, "waves");
    }
    if (recallFrom != null) {
      Checks.nonNegative(recallFrom, "recallFrom");
    }
    if (retries != null) {
      if (retries.size() > MAX_RETRIES) {
        throw Checks.malformed("a rollout state names at most " + MAX_RETRIES + " retries");
      }
      retries.forEach((node, count) -> {
        Names.requireNodeId(node);
        Checks.positive(Checks.required(count, "retry count"), "retry count");
      });
      retries = Map.copyOf(retries);
    }
    if (decision != null) {
      Checks.positive(decision, "decision");
    }
    if ((set == null) != (setVersion == null)) {
      throw Checks.malformed("a rollout state names a release set with its version (set and setVersion), or neither");
    }
    if (set != null) {
      Names.requireSetName(set);
      Names.requireVersion(setVersion);
    }
  }

  /** The twelve-argument form of earlier releases (no release set). */
  public RolloutState(String type, String app, String version, long sequence, Instant expires, Action action,
      Integer openWaves, String recallTo, Integer waves, Integer recallFrom, Map<String, Integer> retries,
      Long decision) {
    this(type, app, version, sequence, expires, action, openWaves, recallTo, waves, recallFrom, retries, decision,
        null, null);
  }

  /** The eight-argument form of earlier releases. */
  public RolloutState(String type, String app, String version, long sequence, Instant expires, Action action,
      Integer openWaves, String recallTo) {
    this(type, app, version, sequence, expires, action, openWaves, recallTo, null, null, null, null, null, null);
  }

  /** How often an operator let {@code node} retry (0 if never). */
  public int retriesOf(String node) {
    return retries == null ? 0 : retries.getOrDefault(node, 0);
  }

  @Override
  public long serial() {
    return sequence;
  }
}
