package io.upgradekit.server.fleet;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.SetState;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * Writes the signed state of a release set's rollout, {@code sets/<name>/rollout/<version>.json}:
 * signed with the rollout key, valid for the TTL, replaced by compare-and-swap with the next
 * sequence number when what it says changed (a component moved, the fleet a contract requires
 * changed) or a third of the TTL passed, as {@link RolloutStates} does for one release. Several
 * processes may try at once; one swap wins.
 *
 * <p>Thread-safe (stateless beyond its configuration).
 */
public final class SetStates {
  private final RepositoryStore store;
  private final RolloutKey key;
  private final Duration ttl;

  public SetStates(RepositoryStore store, RolloutKey key, Duration ttl) {
    this.store = store;
    this.key = key;
    this.ttl = ttl;
  }

  private record Stored(SetState state, String tag) {}

  /** The state stored now, unverified (the server reads its own), or empty. */
  public Optional<SetState> current(String name, String version) throws IOException {
    return read(RepositoryLayout.setState(name, version)).map(Stored::state);
  }

  private Optional<Stored> read(String path) throws IOException {
    Optional<RepositoryStore.Versioned> stored = store.read(path, DocumentType.SET_STATE.maxBytes());
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    try {
      byte[] payload = Envelopes.parse(stored.get().bytes(), DocumentType.SET_STATE).payloadBytes();
      return Optional.of(new Stored(Json.read(payload, SetState.class, "set state"), stored.get().tag()));
    } catch (RuntimeException e) {
      return Optional.of(new Stored(null, stored.get().tag())); // damaged: replaced by the next write
    }
  }

  /**
   * Signs and stores {@code state} (its sequence and expiry are set here) if the stored one says
   * something else or has used up a third of its TTL.
   *
   * @return what it did
   */
  public RolloutStates.Outcome publish(SetState state, Instant now) throws IOException {
    String path = RepositoryLayout.setState(state.name(), state.version());
    Optional<Stored> stored = read(path);
    SetState old = stored.map(Stored::state).orElse(null);
    long sequence = old == null ? 1 : old.sequence() + 1;
    if (old != null && with(state, old.sequence(), old.expires()).equals(old)
        && Duration.between(now, old.expires()).compareTo(ttl.multipliedBy(2).dividedBy(3)) > 0) {
      return RolloutStates.Outcome.FRESH;
    }
    SetState signed = with(state, sequence, now.plus(ttl).truncatedTo(ChronoUnit.SECONDS));
    byte[] bytes = key.sign(DocumentType.SET_STATE, signed);
    RepositoryStore.Write write = store.compareAndSwap(path, stored.map(Stored::tag).orElse(null), sequence, bytes);
    return write.written() ? RolloutStates.Outcome.WRITTEN : RolloutStates.Outcome.CONFLICT;
  }

  private static SetState with(SetState s, long sequence, Instant expires) {
    return new SetState(s.type(), s.name(), s.version(), sequence, expires, s.status(), s.paused(), s.components(),
        s.fleet(), s.decision());
  }
}
