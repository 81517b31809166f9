package io.upgradekit.updater.event;

/**
 * A transition that {@link UpdateState}'s table does not allow: a bug in the engine, refused
 * before anything is journaled, so the journal never describes an impossible event.
 */
public final class IllegalTransitionException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final transient UpdateState from;
  private final transient UpdateState to;

  public IllegalTransitionException(UpdateState from, UpdateState to) {
    super("illegal transition " + (from == null ? "(no state)" : from) + " -> " + to + "; from "
        + (from == null ? "no state only BEGIN" : from + " only " + from.next()) + " may follow");
    this.from = from;
    this.to = to;
  }

  /** The state the event was in, or null before its first state. */
  public UpdateState from() {
    return from;
  }

  /** The state it tried to enter. */
  public UpdateState to() {
    return to;
  }
}
