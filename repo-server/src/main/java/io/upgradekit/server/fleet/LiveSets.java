package io.upgradekit.server.fleet;

import io.upgradekit.schema.layout.PathKind;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseSet;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The release sets published in the repository ({@code sets/<name>/<version>.json}), each verified
 * once against the trust root (release role, the set's rules, its name and version) and kept while
 * not expired. Sets are immutable, so a set is read once; one that does not verify is reported once
 * and skipped.
 *
 * <p>Thread-safe: {@link #refresh} replaces the whole list.
 */
public final class LiveSets {
  private final RepositoryStore store;
  private final Supplier<TrustRoot> trust;
  private final Clock clock;
  private final Consumer<String> warn;
  private final ConcurrentHashMap<String, Optional<ReleaseSet>> read = new ConcurrentHashMap<>();
  private volatile List<ReleaseSet> sets = List.of();

  /** @param trust the current trust root (null when the repository has none) */
  public LiveSets(RepositoryStore store, Supplier<TrustRoot> trust, Clock clock, Consumer<String> warn) {
    this.store = store;
    this.trust = trust;
    this.clock = clock;
    this.warn = warn;
  }

  /** The sets as last refreshed: verified, not expired, by name and version. */
  public List<ReleaseSet> all() {
    return sets;
  }

  /** The set {@code name} {@code version} as last refreshed, if any. */
  public Optional<ReleaseSet> get(String name, String version) {
    return sets.stream().filter(s -> s.name().equals(name) && s.version().equals(version)).findFirst();
  }

  /** Lists {@code sets/} again and verifies the sets not seen before. */
  public List<ReleaseSet> refresh() throws IOException {
    TrustRoot root = trust.get();
    if (root == null) {
      sets = List.of();
      return sets;
    }
    MetadataVerifier verifier = new MetadataVerifier(root, clock);
    List<String> paths = new ArrayList<>();
    try (Stream<RepositoryStore.Entry> listed = store.list("sets/")) {
      for (Iterator<RepositoryStore.Entry> it = listed.iterator(); it.hasNext(); ) {
        String path = it.next().path();
        if (RepositoryLayout.kindOf(path) == PathKind.RELEASE_SET) {
          paths.add(path);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    paths.sort(null);
    List<ReleaseSet> found = new ArrayList<>();
    for (String path : paths) {
      Optional<ReleaseSet> set = read.get(path);
      if (set == null) {
        set = verify(verifier, path);
        if (set == null) {
          continue; // not readable now: try again next time
        }
        read.put(path, set);
      }
      if (set.isPresent() && clock.instant().isBefore(set.get().expires())) {
        found.add(set.get());
      }
    }
    sets = List.copyOf(found);
    return sets;
  }

  private Optional<ReleaseSet> verify(MetadataVerifier verifier, String path) {
    String[] s = path.split("/");
    String name = s[1];
    String version = s[2].substring(0, s[2].length() - ".json".length());
    try {
      Optional<RepositoryStore.Versioned> bytes = store.read(path, DocumentType.RELEASE_SET.maxBytes());
      if (bytes.isEmpty()) {
        return null;
      }
      return Optional.of(verifier.verifyReleaseSet(bytes.get().bytes(), name, version));
    } catch (IOException e) {
      warn.accept("release set " + path + " cannot be read now: " + e.getMessage());
      return null;
    } catch (RuntimeException e) {
      warn.accept("release set " + path + " is not run: " + e.getMessage());
      return Optional.empty();
    }
  }
}
