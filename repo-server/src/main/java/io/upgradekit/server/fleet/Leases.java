package io.upgradekit.server.fleet;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.LeaseGrant;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The lease files of the rollouts' slots, and what a slot's files say now. Per slot, each holder
 * is a <em>generation</em>: {@code <g>.json} (the signed grant, created exclusively, so one holder
 * per generation across processes), {@code <g>.confirmed.json} (created when the holder confirms
 * just before STOP) and {@code <g>.released.json} (created when it gives the slot back). The
 * newest generation is the slot's; a slot is free when its newest grant was released, or expired:
 * not confirmed before its {@code expires}, or confirmed and its holder silent for {@link
 * Inventory#silenceAllowed} (three heartbeat intervals, at least {@link Inventory#MIN_SILENCE}).
 *
 * <p>Reading every slot's files on every lease request and every metrics scrape cost thousands of
 * file operations per request on a large fleet, so each rollout's slots of one kind are kept in a
 * <em>table</em> in memory. This process's own writes (grants, confirmations, releases) update it
 * at once; what other server processes on the repository wrote is read when the table is older
 * than {@link #FRESH_FOR} ({@value #FRESH_MILLIS} ms): so a slot granted, confirmed or released
 * through another process is seen here within that bound. The table decides nothing on its own:
 * a grant is still the exclusive creation of the slot's next generation (a stale table makes it
 * fail and the slot is read again), a takeover of an expired lease reads the slot from the store
 * first, and confirmations and releases read their slot from the store ({@link #read}).
 *
 * <p>Thread-safe.
 */
final class Leases {
  static final long FRESH_MILLIS = 1000;

  /** How old a table may be before it is checked against the store again. */
  static final Duration FRESH_FOR = Duration.ofMillis(FRESH_MILLIS);

  /** A confirmation or release mark's content. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Mark(String node, Instant at, String outcome) {}

  /**
   * One slot as its files say.
   *
   * @param generation its newest generation, 0 if it was never given
   * @param grant that generation's grant, or null
   * @param envelope the grant's signed bytes, or null
   * @param confirmedAt when its holder confirmed it, or null
   * @param released whether it was given back
   */
  record Slot(int slot, long generation, LeaseGrant grant, byte[] envelope, Instant confirmedAt, boolean released) {
    boolean given() {
      return grant != null && !released;
    }

    /** Whether {@code other} says at least as much as this (a newer generation, or the same with more marks). */
    boolean notNewerThan(Slot other) {
      if (generation != other.generation) {
        return generation < other.generation;
      }
      return (confirmedAt == null || other.confirmedAt != null) && (!released || other.released)
          && (grant == null || other.grant != null);
    }
  }

  private record Key(String app, String version, String kind) {}

  /** One rollout's slots of one kind as last read or written here. */
  private static final class Table {
    Slot[] slots = new Slot[0];
    Instant checkedAt;
  }

  private final RepositoryStore store;
  private final Clock clock;
  private final ConcurrentHashMap<Key, Table> tables = new ConcurrentHashMap<>();

  Leases(RepositoryStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  static String kind(LeaseGrant.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  /**
   * Slots {@code 0 .. count-1} of a rollout: from the table, checked against the store first when
   * it is older than {@link #FRESH_FOR}.
   */
  List<Slot> slots(String app, String version, LeaseGrant.Kind kind, int count) throws IOException {
    String k = kind(kind);
    Table table = table(app, version, k);
    synchronized (table) {
      Instant now = clock.instant();
      boolean stale = table.checkedAt == null || now.isBefore(table.checkedAt)
          || !now.isBefore(table.checkedAt.plus(FRESH_FOR));
      if (table.slots.length < count) {
        int known = table.slots.length;
        table.slots = Arrays.copyOf(table.slots, count);
        for (int n = known; n < count; n++) {
          table.slots[n] = load(app, version, k, n, 0);
        }
      }
      if (stale) {
        for (int n = 0; n < table.slots.length; n++) {
          table.slots[n] = check(app, version, k, table.slots[n]);
        }
        table.checkedAt = now;
      }
      return List.of(Arrays.copyOf(table.slots, count));
    }
  }

  /** One slot as the store says now (the table learns it too). */
  Slot read(String app, String version, LeaseGrant.Kind kind, int slot) throws IOException {
    String k = kind(kind);
    Table table = table(app, version, k);
    long from;
    synchronized (table) {
      from = slot < table.slots.length ? table.slots[slot].generation() : 0;
    }
    Slot read = load(app, version, k, slot, from);
    remember(table, read);
    return read;
  }

  /** Creates generation {@code grant.generation()} of its slot; false if another process was first. */
  boolean create(LeaseGrant grant, byte[] envelope) throws IOException {
    String k = kind(grant.kind());
    boolean created = store.createOrRead(RepositoryLayout.lease(grant.app(), grant.version(), k, grant.slot(),
        grant.generation()), envelope, DocumentType.LEASE.maxBytes()).created();
    if (created) {
      remember(table(grant.app(), grant.version(), k), new Slot(grant.slot(), grant.generation(), grant, envelope, null,
          false));
    } else {
      read(grant.app(), grant.version(), grant.kind(), grant.slot());
    }
    return created;
  }

  /** Marks a grant confirmed (once; a second confirmation finds the first). */
  Instant confirm(Slot slot, Instant at) throws IOException {
    LeaseGrant grant = slot.grant();
    String path = RepositoryLayout.leaseConfirmed(grant.app(), grant.version(), kind(grant.kind()), grant.slot(),
        grant.generation());
    byte[] stored = store.createOrRead(path, Json.canonicalBytes(new Mark(grant.node(), at, null)), 4096).stored();
    Instant confirmedAt = Json.read(stored, 4096, Mark.class, "lease mark").at();
    remember(table(grant.app(), grant.version(), kind(grant.kind())), new Slot(slot.slot(), slot.generation(), grant,
        slot.envelope(), confirmedAt, slot.released()));
    return confirmedAt;
  }

  /** Marks a grant given back. */
  void release(Slot slot, Instant at, String outcome) throws IOException {
    LeaseGrant grant = slot.grant();
    String path = RepositoryLayout.leaseReleased(grant.app(), grant.version(), kind(grant.kind()), grant.slot(),
        grant.generation());
    store.createOrRead(path, Json.canonicalBytes(new Mark(grant.node(), at, outcome)), 4096);
    remember(table(grant.app(), grant.version(), kind(grant.kind())), new Slot(slot.slot(), slot.generation(), grant,
        slot.envelope(), slot.confirmedAt(), true));
  }

  private Table table(String app, String version, String kind) {
    return tables.computeIfAbsent(new Key(app, version, kind), k -> new Table());
  }

  /** Puts a slot into the table unless the table knows more already (another thread read it later). */
  private static void remember(Table table, Slot slot) {
    synchronized (table) {
      int n = slot.slot();
      if (n < table.slots.length && table.slots[n].notNewerThan(slot)) {
        table.slots[n] = slot;
      }
    }
  }

  /** The slot's files from generation {@code from} on: the newest generation, its grant and marks. */
  private Slot load(String app, String version, String k, int slot, long from) throws IOException {
    long g = from;
    while (store.stat(RepositoryLayout.lease(app, version, k, slot, g + 1)).isPresent()) {
      g++;
    }
    if (g == 0) {
      return new Slot(slot, 0, null, null, null, false);
    }
    Optional<RepositoryStore.Versioned> stored = store.read(RepositoryLayout.lease(app, version, k, slot, g),
        DocumentType.LEASE.maxBytes());
    if (stored.isEmpty()) {
      return new Slot(slot, g, null, null, null, false);
    }
    byte[] envelope = stored.get().bytes();
    LeaseGrant grant = Json.read(Envelopes.parse(envelope, DocumentType.LEASE).payloadBytes(), LeaseGrant.class,
        "lease");
    Instant confirmedAt = mark(RepositoryLayout.leaseConfirmed(app, version, k, slot, g)).map(Mark::at).orElse(null);
    boolean released = store.stat(RepositoryLayout.leaseReleased(app, version, k, slot, g)).isPresent();
    return new Slot(slot, g, grant, envelope, confirmedAt, released);
  }

  /**
   * What changed in a slot since the table had it, with as few file operations as the slot's state
   * needs: a newer generation (one {@code stat}), else for a grant held its confirmation and
   * release marks. A released grant changes only by a newer generation.
   */
  private Slot check(String app, String version, String k, Slot known) throws IOException {
    int n = known.slot();
    long g = known.generation();
    if (store.stat(RepositoryLayout.lease(app, version, k, n, g + 1)).isPresent()) {
      return load(app, version, k, n, g + 1);
    }
    if (known.grant() == null) {
      return g == 0 ? known : load(app, version, k, n, g);
    }
    if (known.released()) {
      return known;
    }
    Instant confirmedAt = known.confirmedAt() != null ? known.confirmedAt()
        : mark(RepositoryLayout.leaseConfirmed(app, version, k, n, g)).map(Mark::at).orElse(null);
    boolean released = store.stat(RepositoryLayout.leaseReleased(app, version, k, n, g)).isPresent();
    return new Slot(n, g, known.grant(), known.envelope(), confirmedAt, released);
  }

  private Optional<Mark> mark(String path) throws IOException {
    Optional<RepositoryStore.Versioned> stored = store.read(path, 4096);
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(Json.read(stored.get().bytes(), 4096, Mark.class, "lease mark"));
  }

  static String text(byte[] envelope) {
    return new String(envelope, StandardCharsets.UTF_8);
  }
}
