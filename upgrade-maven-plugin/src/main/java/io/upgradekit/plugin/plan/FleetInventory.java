package io.upgradekit.plugin.plan;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ApiBody;
import io.upgradekit.schema.api.Heartbeat;
import io.upgradekit.schema.api.InventorySnapshot;
import io.upgradekit.schema.io.BoundedFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The live fleet as repo-server knows it, read from its inventory snapshots ({@code
 * fleet/inventory/<instance>.json}, {@link InventorySnapshot}): one file, or every snapshot in a
 * directory (several server processes), merged as the servers merge them: per node and app the
 * heartbeat sent last wins. A node is available while it was heard of within three of its
 * heartbeat intervals before {@code now}.
 */
public final class FleetInventory {
  /** Snapshot files read from one directory at most (one per server process). */
  public static final int MAX_FILES = 256;

  /**
   * One node of one app.
   *
   * @param version what it runs, or null before its first install
   * @param available heard of within three heartbeat intervals
   * @param healthy available, and its last heartbeat did not say the service is unhealthy
   */
  public record Node(String id, String app, String channel, String version, Map<String, String> labels,
      boolean available, boolean healthy) {
    public Node {
      labels = Map.copyOf(labels);
    }
  }

  private FleetInventory() {}

  /**
   * Reads a snapshot file, or every {@code *.json} snapshot of a directory.
   *
   * @throws UpgradeException CONFIG_INVALID (no such file or directory), METADATA_MALFORMED or
   *     METADATA_TOO_LARGE naming the file
   */
  public static List<Node> read(Path path, Instant now) {
    List<InventorySnapshot.Entry> entries = new ArrayList<>();
    try {
      if (Files.isDirectory(path)) {
        List<Path> files;
        try (Stream<Path> listed = Files.list(path)) {
          files = listed.filter(f -> f.getFileName().toString().endsWith(".json")
              && !f.getFileName().toString().startsWith(".")).sorted().limit(MAX_FILES + 1L).toList();
        }
        if (files.size() > MAX_FILES) {
          throw new ConfigurationException(ErrorCode.CONFIG_INVALID, path + " holds more than " + MAX_FILES
              + " snapshots: point the inventory at the repository's fleet/inventory directory or at one file");
        }
        for (Path file : files) {
          entries.addAll(snapshot(file).nodes());
        }
      } else {
        entries.addAll(snapshot(path).nodes());
      }
    } catch (NoSuchFileException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "the inventory " + path + " does not exist: point"
          + " <inventory> (-Dupgrade.inventory) at repo-server's fleet/inventory directory, or at a copy of one of"
          + " its snapshots");
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read the inventory " + path + ": " + e, e);
    }
    return of(entries, now);
  }

  /** The nodes of these entries, the newest heartbeat per node and app, sorted by app and node. */
  public static List<Node> of(List<InventorySnapshot.Entry> entries, Instant now) {
    Map<String, InventorySnapshot.Entry> newest = new LinkedHashMap<>();
    for (InventorySnapshot.Entry e : entries) {
      newest.merge(e.heartbeat().app() + "\u0000" + e.heartbeat().node(), e,
          (a, b) -> b.heartbeat().sentAt().isAfter(a.heartbeat().sentAt()) ? b : a);
    }
    return newest.values().stream().map(e -> {
      Heartbeat h = e.heartbeat();
      return new Node(h.node(), h.app(), h.channel(), h.version(), h.labels(), e.available(now), e.healthy(now));
    }).sorted(Comparator.comparing(Node::app).thenComparing(Node::id)).toList();
  }

  private static InventorySnapshot snapshot(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = BoundedFiles.read(file, ApiBody.INVENTORY.maxBytes());
    } catch (BoundedFiles.TooLargeException e) {
      throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, "the inventory snapshot " + file + " is larger than "
          + ApiBody.INVENTORY.maxBytes() + " bytes");
    }
    try {
      return ApiBody.INVENTORY.read(bytes);
    } catch (UpgradeException e) {
      throw new UpgradeException(e.code(), file + ": " + e.getMessage(), e);
    }
  }
}
