package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

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
 * @param recallTo for {@code recall}: the version nodes on this release switch back to, or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RolloutState(
    String type, String app, String version, long sequence, Instant expires, Action action, Integer openWaves,
    String recallTo) implements SignedDocument {

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
  }

  @Override
  public long serial() {
    return sequence;
  }
}
