package io.upgradekit.updater.event;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What an event in the journal, history and reports is about; the JSON names are lower case. */
public enum EventKind {
  /** The channel moved: install the release it points at. */
  @JsonProperty("update")
  UPDATE,
  /** {@code updater rollback}: back to the recorded previous version. */
  @JsonProperty("rollback")
  ROLLBACK,
  /** The rollout recalled the installed release: back to the version it names. */
  @JsonProperty("recall")
  RECALL,
  /** Damaged state was moved aside and rebuilt (STATE_RECOVERED). */
  @JsonProperty("recovery")
  RECOVERY,
  /**
   * {@code updater drill}, first leg: back to the previous version on purpose, through ROLLBACK as
   * in an incident (the release is not marked bad). The second leg is an ordinary {@code update}.
   */
  @JsonProperty("drill")
  DRILL;

  /** The name in JSON and in history's text ({@code update}, ...). */
  public String jsonName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** True for events that switch back to an installed version ({@code toVersion}) by design. */
  public boolean switchesBack() {
    return this == ROLLBACK || this == RECALL || this == DRILL;
  }

  @Override
  public String toString() {
    return jsonName();
  }
}
