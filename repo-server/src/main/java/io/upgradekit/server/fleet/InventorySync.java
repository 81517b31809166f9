package io.upgradekit.server.fleet;

import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Shares the inventory between the server processes of one repository, and keeps it across
 * restarts: each process writes its own snapshot, {@code fleet/inventory/<instance>.json}, when its
 * inventory changed (by compare-and-swap on the tag it wrote last, so only durable, whole
 * snapshots are ever read), and merges every snapshot, its own included, at start and on every
 * {@link #sync}: per node the heartbeat with the newest {@code sentAt} wins. A heartbeat's
 * figures travel with it, so the canary judge of every process sees the samples that any process
 * received (snapshots are written every few seconds, heartbeats come every 30 s or so).
 *
 * <p>Not thread-safe: one timer calls it.
 */
public final class InventorySync {
  /** Largest snapshot read: about 500 bytes per node, for {@link Inventory#DEFAULT_MAX_NODES} and more. */
  public static final int MAX_SNAPSHOT_BYTES = 256 << 20;

  /**
   * The snapshot document.
   *
   * @param type always {@value #TYPE}
   * @param instance the server process that wrote it
   * @param sequence grows with every write of this instance's snapshot
   * @param writtenAt when
   * @param nodes the entries
   */
  public record Snapshot(String type, String instance, long sequence, Instant writtenAt,
      List<Inventory.Entry> nodes) {
    public static final String TYPE = "inventory";

    public Snapshot {
      if (!TYPE.equals(type)) {
        throw new IllegalArgumentException("type must be " + TYPE);
      }
      Objects.requireNonNull(instance, "instance");
      Objects.requireNonNull(writtenAt, "writtenAt");
      nodes = List.copyOf(Objects.requireNonNull(nodes, "nodes"));
    }
  }

  private final RepositoryStore store;
  private final Inventory inventory;
  private final String instance;
  private final String path;
  private final Clock clock;
  private final Consumer<String> warn;
  private String tag;
  private long sequence;
  private long writtenChanges;

  public InventorySync(RepositoryStore store, Inventory inventory, String instance, Clock clock, Consumer<String> warn) {
    this.store = store;
    this.inventory = inventory;
    this.instance = instance;
    this.path = RepositoryLayout.inventorySnapshot(instance);
    this.clock = clock;
    this.warn = warn;
  }

  /** The server instance whose snapshot this process writes. */
  public String instance() {
    return instance;
  }

  /**
   * Merges every snapshot into the inventory, then writes this process's own if the inventory
   * changed since it last wrote it.
   *
   * @return the number of entries taken from snapshots
   */
  public int sync() throws IOException {
    int merged = mergeAll();
    Instant now = clock.instant();
    inventory.prune(now);
    long changes = inventory.changes();
    if (changes != writtenChanges) {
      write(now, changes);
    }
    return merged;
  }

  private int mergeAll() throws IOException {
    List<String> paths = new ArrayList<>();
    try (Stream<RepositoryStore.Entry> listed = store.list(RepositoryLayout.inventorySnapshots())) {
      for (Iterator<RepositoryStore.Entry> it = listed.iterator(); it.hasNext(); ) {
        String p = it.next().path();
        if (p.endsWith(".json")) {
          paths.add(p);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    int merged = 0;
    for (String p : paths) {
      try {
        Optional<RepositoryStore.Versioned> read = store.read(p, MAX_SNAPSHOT_BYTES);
        if (read.isEmpty()) {
          continue;
        }
        Snapshot snapshot = Json.read(read.get().bytes(), MAX_SNAPSHOT_BYTES, Snapshot.class, "inventory snapshot");
        if (p.equals(path)) {
          if (tag == null) { // our own, from before a restart: go on from its sequence
            tag = read.get().tag();
            sequence = snapshot.sequence();
          }
        }
        for (Inventory.Entry entry : snapshot.nodes()) {
          if (inventory.merge(entry)) {
            merged++;
          }
        }
      } catch (IOException | RuntimeException e) {
        warn.accept("skipped the inventory snapshot " + p + ": " + e.getMessage());
      }
    }
    return merged;
  }

  private void write(Instant now, long changes) throws IOException {
    byte[] bytes = Json.canonicalBytes(new Snapshot(Snapshot.TYPE, instance, sequence + 1, now, inventory.entries()));
    RepositoryStore.Write write = store.compareAndSwap(path, tag, sequence + 1, bytes);
    if (write.written()) {
      tag = write.tag();
      sequence++;
      writtenChanges = changes;
    } else {
      // Another process wrote under our name (two servers given one instance name): read and merge it next time.
      warn.accept("the inventory snapshot " + path + " changed under this server: is another server process"
          + " running with the same instance name? Give each its own --instance");
      tag = null;
      store.read(path, MAX_SNAPSHOT_BYTES).ifPresent(v -> {
        tag = v.tag();
        try {
          sequence = Math.max(sequence, Json.read(v.bytes(), MAX_SNAPSHOT_BYTES, Snapshot.class, "inventory snapshot")
              .sequence());
        } catch (RuntimeException e) {
          sequence++;
        }
      });
    }
  }
}
