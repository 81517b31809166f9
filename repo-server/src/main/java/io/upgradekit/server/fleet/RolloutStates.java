package io.upgradekit.server.fleet;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.rollout.RolloutView;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Writes the signed rollout state nodes obey, {@code apps/<app>/rollout/<version>.json}: derived
 * from the rollout's decisions, signed with the rollout key, valid for the TTL, replaced by
 * compare-and-swap with the next sequence number when the decisions changed or a third of the TTL
 * has passed (so a node polling every 30 s always finds a fresh one while a server runs, and a
 * paused one when none does). Several processes may try at once; one swap wins and the others see
 * a fresh state next time.
 *
 * <p>Thread-safe (stateless beyond its configuration).
 */
public final class RolloutStates {
  /** What {@link #publish} did. */
  public enum Outcome {
    WRITTEN, FRESH, CONFLICT
  }

  private final RepositoryStore store;
  private final RolloutKey key;
  private final Duration ttl;

  public RolloutStates(RepositoryStore store, RolloutKey key, Duration ttl) {
    this.store = store;
    this.key = key;
    this.ttl = ttl;
  }

  /** What nodes should do, from the rollout's decisions. */
  public static RolloutState derive(RolloutView view, long sequence, Instant expires) {
    return derive(view, null, sequence, expires);
  }

  /**
   * What nodes should do, from the rollout's decisions, for a release that the release set {@code
   * set} rolls out (null: none): the state names the set, so that its nodes check the set's contracts.
   */
  public static RolloutState derive(RolloutView view, ReleaseSet set, long sequence, Instant expires) {
    RolloutState.Action action;
    String recallTo = null;
    Integer recallFrom = null;
    switch (view.status()) {
      case ACTIVE, COMPLETE -> action = view.paused() ? RolloutState.Action.PAUSE : RolloutState.Action.PROCEED;
      case HALTED -> action = RolloutState.Action.HALT;
      case RECALLING, RECALLED -> {
        if (view.fromVersion() == null) {
          action = RolloutState.Action.HALT; // nothing to go back to: nobody installs, nobody switches
        } else {
          action = RolloutState.Action.RECALL;
          recallTo = view.fromVersion();
          recallFrom = view.recallFrom() == Integer.MAX_VALUE ? null : view.recallFrom();
        }
      }
      default -> action = RolloutState.Action.PAUSE;
    }
    Map<String, Integer> retries = new TreeMap<>(view.retries());
    while (retries.size() > RolloutState.MAX_RETRIES) {
      retries.remove(((TreeMap<String, Integer>) retries).lastKey());
    }
    return new RolloutState("rollout", view.app(), view.version(), sequence, expires, action,
        view.status() == RolloutView.Status.COMPLETE ? Integer.valueOf(view.schedule().size()) : view.openWaves(),
        recallTo, view.schedule() == null ? null : view.schedule().size(), recallFrom,
        retries.isEmpty() ? null : retries, view.lastSequence() == 0 ? null : view.lastSequence(),
        set == null ? null : set.name(), set == null ? null : set.version());
  }

  /** The state stored now, unverified (the server reads its own), or empty. */
  public Optional<RolloutState> current(String app, String version) throws IOException {
    return read(RepositoryLayout.rolloutState(app, version)).map(Stored::state);
  }

  private record Stored(RolloutState state, String tag) {}

  private Optional<Stored> read(String path) throws IOException {
    Optional<RepositoryStore.Versioned> stored = store.read(path, DocumentType.ROLLOUT.maxBytes());
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    try {
      byte[] payload = Envelopes.parse(stored.get().bytes(), DocumentType.ROLLOUT).payloadBytes();
      return Optional.of(new Stored(Json.read(payload, RolloutState.class, "rollout state"), stored.get().tag()));
    } catch (RuntimeException e) {
      return Optional.of(new Stored(null, stored.get().tag())); // damaged: replaced by the next write
    }
  }

  /**
   * Signs and stores the state of {@code view} if the stored one reflects older decisions, differs,
   * or has used up a third of its TTL.
   */
  public Outcome publish(RolloutView view, Instant now) throws IOException {
    return publish(view, null, now);
  }

  /** As above, for a release that the release set {@code set} rolls out (null: none). */
  public Outcome publish(RolloutView view, ReleaseSet set, Instant now) throws IOException {
    String path = RepositoryLayout.rolloutState(view.app(), view.version());
    Optional<Stored> stored = read(path);
    RolloutState old = stored.map(Stored::state).orElse(null);
    long sequence = old == null ? 1 : old.sequence() + 1;
    if (old != null) {
      RolloutState same = derive(view, set, old.sequence(), old.expires());
      Duration left = Duration.between(now, old.expires());
      if (same.equals(old) && left.compareTo(ttl.multipliedBy(2).dividedBy(3)) > 0) {
        return Outcome.FRESH;
      }
    }
    RolloutState state = derive(view, set, sequence, now.plus(ttl).truncatedTo(ChronoUnit.SECONDS));
    byte[] bytes = key.sign(DocumentType.ROLLOUT, state);
    RepositoryStore.Write write = store.compareAndSwap(path, stored.map(Stored::tag).orElse(null), sequence, bytes);
    return write.written() ? Outcome.WRITTEN : Outcome.CONFLICT;
  }
}
