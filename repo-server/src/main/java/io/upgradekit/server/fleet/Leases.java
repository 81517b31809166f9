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
import java.time.Instant;
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
 * <p>The highest generation seen per slot is cached (generations only grow), so reading a slot
 * costs a few {@code stat}s; everything that decides is read from the store.
 *
 * <p>Thread-safe.
 */
final class Leases {
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
  }

  private record Key(String app, String version, String kind, int slot) {}

  private final RepositoryStore store;
  private final ConcurrentHashMap<Key, Long> highest = new ConcurrentHashMap<>();

  Leases(RepositoryStore store) {
    this.store = store;
  }

  static String kind(LeaseGrant.Kind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  Slot read(String app, String version, LeaseGrant.Kind kind, int slot) throws IOException {
    String k = kind(kind);
    Key key = new Key(app, version, k, slot);
    long g = highest.getOrDefault(key, 0L);
    while (store.stat(RepositoryLayout.lease(app, version, k, slot, g + 1)).isPresent()) {
      g++;
    }
    if (g == 0) {
      return new Slot(slot, 0, null, null, null, false);
    }
    highest.merge(key, g, Math::max);
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

  /** Creates generation {@code grant.generation()} of its slot; false if another process was first. */
  boolean create(LeaseGrant grant, byte[] envelope) throws IOException {
    String k = kind(grant.kind());
    boolean created = store.createOrRead(RepositoryLayout.lease(grant.app(), grant.version(), k, grant.slot(),
        grant.generation()), envelope, DocumentType.LEASE.maxBytes()).created();
    highest.merge(new Key(grant.app(), grant.version(), k, grant.slot()), grant.generation(), Math::max);
    return created;
  }

  /** Marks a grant confirmed (once; a second confirmation finds the first). */
  Instant confirm(LeaseGrant grant, Instant at) throws IOException {
    String path = RepositoryLayout.leaseConfirmed(grant.app(), grant.version(), kind(grant.kind()), grant.slot(),
        grant.generation());
    byte[] stored = store.createOrRead(path, Json.canonicalBytes(new Mark(grant.node(), at, null)), 4096).stored();
    return Json.read(stored, 4096, Mark.class, "lease mark").at();
  }

  /** Marks a grant given back. */
  void release(LeaseGrant grant, Instant at, String outcome) throws IOException {
    String path = RepositoryLayout.leaseReleased(grant.app(), grant.version(), kind(grant.kind()), grant.slot(),
        grant.generation());
    store.createOrRead(path, Json.canonicalBytes(new Mark(grant.node(), at, outcome)), 4096);
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
