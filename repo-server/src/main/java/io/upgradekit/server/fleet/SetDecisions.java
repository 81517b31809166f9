package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.SetDecision;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.rollout.SetView;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The release sets' decisions in the repository: {@code set-rollouts/<name>/<version>/decisions/<n>.json},
 * 1, 2, 3, ... without gaps, each created exclusively, so that of any number of server processes
 * proposing decision n exactly one stores it, as {@link Decisions} does for one release's rollout.
 * A set's state is the fold of its decisions ({@link SetView}); reading is incremental.
 *
 * <p>Thread-safe.
 */
public final class SetDecisions {
  private record Known(List<SetDecision> decisions, SetView view) {}

  private record Key(String name, String version) {}

  private final RepositoryStore store;
  private final ConcurrentHashMap<Key, Known> known = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Object> locks = new ConcurrentHashMap<>();

  public SetDecisions(RepositoryStore store) {
    this.store = store;
  }

  /**
   * The set's state after every decision stored now. The returned view must not be changed.
   *
   * @throws UpgradeException METADATA_MALFORMED if a stored decision is damaged or out of place
   */
  public SetView view(String name, String version) throws IOException {
    Key key = new Key(name, version);
    synchronized (locks.computeIfAbsent(key, k -> new Object())) {
      Known current = known.getOrDefault(key, new Known(List.of(), SetView.fold(name, version, List.of())));
      List<SetDecision> added = new ArrayList<>();
      long next = current.decisions().size() + 1;
      while (true) {
        Optional<SetDecision> d = read(name, version, next);
        if (d.isEmpty()) {
          break;
        }
        added.add(d.get());
        next++;
      }
      if (!added.isEmpty() || !known.containsKey(key)) {
        List<SetDecision> all = new ArrayList<>(current.decisions());
        all.addAll(added);
        current = new Known(List.copyOf(all), SetView.fold(name, version, all));
        known.put(key, current);
      }
      return current.view();
    }
  }

  /**
   * Stores {@code decision} if its sequence is the next one.
   *
   * @return the set's state with it, or empty if another writer stored that sequence first
   */
  public Optional<SetView> append(SetDecision decision) throws IOException {
    String path = RepositoryLayout.setDecision(decision.name(), decision.version(), decision.sequence());
    byte[] bytes = Json.canonicalBytes(decision);
    RepositoryStore.Created created = store.createOrRead(path, bytes, DocumentType.SET_DECISION.maxBytes());
    SetView view = view(decision.name(), decision.version());
    return created.created() && Arrays.equals(created.stored(), bytes) ? Optional.of(view) : Optional.empty();
  }

  private Optional<SetDecision> read(String name, String version, long sequence) throws IOException {
    String path = RepositoryLayout.setDecision(name, version, sequence);
    Optional<RepositoryStore.Versioned> stored = store.read(path, DocumentType.SET_DECISION.maxBytes());
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    SetDecision d = Json.read(stored.get().bytes(), DocumentType.SET_DECISION, SetDecision.class);
    if (!d.name().equals(name) || !d.version().equals(version) || d.sequence() != sequence) {
      throw new UpgradeException(ErrorCode.METADATA_MALFORMED, path + " holds decision " + d.sequence() + " of set "
          + d.name() + " " + d.version() + ": the set cannot go on until it is restored from a backup");
    }
    return Optional.of(d);
  }
}
