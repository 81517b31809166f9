package io.upgradekit.updater.engine;

import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.updater.event.Outcome;
import io.upgradekit.updater.journal.NodeState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The retention part of END_ACTION: keeps the current and the previous version and the newest
 * others up to {@code retention}, deletes the rest (with their kept manifests), and clears the
 * download cache after an update that committed or staged. Never fails an event: what cannot be
 * deleted is noted and tried again at the next END_ACTION.
 */
final class Pruner {
  private final Parts parts;

  Pruner(Parts parts) {
    this.parts = parts;
  }

  void prune(Outcome outcome) {
    Home home = parts.home();
    int retention = parts.config().retention();
    String current = home.currentVersion().orElse(null);
    String previous = NodeState.read(home.nodeFile()).previous();
    List<String> all = new ArrayList<>(home.versionsOnDisk());
    all.sort(Comparator.comparing(v -> modified(home.version(v))));
    List<String> keep = new ArrayList<>();
    if (current != null) {
      keep.add(current);
    }
    if (previous != null && !keep.contains(previous)) {
      keep.add(previous);
    }
    for (int i = all.size() - 1; i >= 0 && keep.size() < retention; i--) {
      if (!keep.contains(all.get(i))) {
        keep.add(all.get(i));
      }
    }
    for (String v : all) {
      if (!keep.contains(v)) {
        try {
          FileTrees.deleteRecursively(home.version(v));
          Files.deleteIfExists(home.releases().resolve(v + ".json"));
          parts.events().info("pruned version " + v + " (retention " + retention + ")");
        } catch (IOException e) {
          parts.events().warn("cannot prune " + v + ": " + e.getMessage());
        }
      }
    }
    if (outcome == Outcome.COMMITTED || outcome == Outcome.STAGED) {
      try {
        FileTrees.deleteRecursively(home.cache());
      } catch (IOException e) {
        parts.events().warn("cannot clear the download cache: " + e.getMessage());
      }
    }
  }

  private static Instant modified(Path p) {
    try {
      return Files.getLastModifiedTime(p).toInstant();
    } catch (IOException e) {
      return Instant.EPOCH;
    }
  }
}
