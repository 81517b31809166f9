package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.RolloutDecision;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.rollout.RolloutView;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The rollouts' decisions in the repository: {@code rollouts/<app>/<version>/decisions/<n>.json},
 * 1, 2, 3, ... without gaps, each created exclusively ({@link RepositoryStore#create}), so that of
 * any number of server processes proposing decision n exactly one stores it; the others re-read
 * and decide again over the new state. A rollout's state is the fold of its decisions ({@link
 * RolloutView}), so nothing else needs to survive a restart: a new process reads the decisions and
 * continues.
 *
 * <p>Reading is incremental: a cache keeps each rollout's decisions, and a refresh asks only for
 * the next sequence numbers until one is missing. The cache decides nothing: every write goes
 * through the exclusive create, and a conflict refreshes.
 *
 * <p>Thread-safe.
 */
public final class Decisions {
  /** One rollout's decisions as read so far, with their fold; replaced as a whole when one is added. */
  private record Known(List<RolloutDecision> decisions, RolloutView view) {}

  private record Key(String app, String version) {}

  private final RepositoryStore store;
  private final ConcurrentHashMap<Key, Known> known = new ConcurrentHashMap<>();

  public Decisions(RepositoryStore store) {
    this.store = store;
  }

  /**
   * The rollout's state after every decision stored now. The returned view must not be changed.
   *
   * @throws UpgradeException METADATA_MALFORMED if a stored decision is damaged or out of place
   */
  public RolloutView view(String app, String version) throws IOException {
    Key key = new Key(app, version);
    synchronized (lock(key)) {
      Known current = known.getOrDefault(key, new Known(List.of(), RolloutView.fold(app, version, List.of())));
      List<RolloutDecision> added = new ArrayList<>();
      long next = current.decisions().size() + 1;
      while (true) {
        Optional<RolloutDecision> d = read(app, version, next);
        if (d.isEmpty()) {
          break;
        }
        added.add(d.get());
        next++;
      }
      if (!added.isEmpty() || !known.containsKey(key)) {
        List<RolloutDecision> all = new ArrayList<>(current.decisions());
        all.addAll(added);
        current = new Known(List.copyOf(all), RolloutView.fold(app, version, all));
        known.put(key, current);
      }
      return current.view();
    }
  }

  /**
   * Stores {@code decision} if its sequence is the next one.
   *
   * @return the rollout's state with it, or empty if another writer stored that sequence first (the
   *     caller reads the new state and decides again)
   */
  public Optional<RolloutView> append(RolloutDecision decision) throws IOException {
    String path = RepositoryLayout.rolloutDecision(decision.app(), decision.version(), decision.sequence());
    byte[] bytes = Json.canonicalBytes(decision);
    RepositoryStore.Created created = store.createOrRead(path, bytes, DocumentType.DECISION.maxBytes());
    RolloutView view = view(decision.app(), decision.version());
    return created.created() && Arrays.equals(created.stored(), bytes) ? Optional.of(view) : Optional.empty();
  }

  private Optional<RolloutDecision> read(String app, String version, long sequence) throws IOException {
    String path = RepositoryLayout.rolloutDecision(app, version, sequence);
    Optional<RepositoryStore.Versioned> stored = store.read(path, DocumentType.DECISION.maxBytes());
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    RolloutDecision d = Json.read(stored.get().bytes(), DocumentType.DECISION, RolloutDecision.class);
    if (!d.app().equals(app) || !d.version().equals(version) || d.sequence() != sequence) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED, path + " holds decision " + d.sequence() + " of "
          + d.app() + " " + d.version() + ": the rollout cannot go on until it is restored from a backup");
    }
    return Optional.of(d);
  }

  private final ConcurrentHashMap<Key, Object> locks = new ConcurrentHashMap<>();

  private Object lock(Key key) {
    return locks.computeIfAbsent(key, k -> new Object());
  }
}
