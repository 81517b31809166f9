package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.api.ClaimRequest;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Rollout slots: a scope (e.g. a wave of one release) has a bounded number of slots, and each is
 * given to exactly one node, by creating {@code slot-<n>.json} if absent ({@link
 * RepositoryStore#create}: exactly one creator wins, also between processes sharing the store).
 *
 * <p>A node that asks again gets its own claim back: after winning a slot, the node's index
 * {@code node-<node>.json} (also created exclusively) records which slot it holds. Requests of one
 * node are serialized within a process. Should two requests of the same node still race (through
 * two server processes) and both win a slot, the one whose index lost gives its slot back, so a
 * node never holds two; the freed slot goes to the next claimant. A crash between the slot and the
 * index leaves the slot naming the node; when the scope is full, the node finds it again by
 * scanning the slots (and a request that wins a slot but finds its index already naming that slot
 * keeps it).
 *
 * <p>Thread-safe. Claims are never released by the server: a scope is per release, so a new
 * release starts with free slots.
 */
public final class ClaimService {
  /**
   * What a claim request got.
   *
   * @param claim the slot the node holds
   * @param created true if allocated by this request, false if the node held it already
   * @param capacity the scope's number of slots
   */
  public record Result(Claim claim, boolean created, int capacity) {}

  /** The index file's content: which slot a node holds. */
  public record NodeIndex(String node, int slot) {}

  private final RepositoryStore store;
  private final Clock clock;
  private final ClaimCapacity capacity;
  /** Per scope directory: the lowest slot that may still be free (slots only fill up). */
  private final ConcurrentHashMap<String, AtomicInteger> firstFree = new ConcurrentHashMap<>();

  /** Claims in the directory store at {@code root}. */
  public ClaimService(Path root, Clock clock, ClaimCapacity capacity) {
    this(new DirectoryStore(root), clock, capacity);
  }

  public ClaimService(RepositoryStore store, Clock clock, ClaimCapacity capacity) {
    this.store = store;
    this.clock = clock;
    this.capacity = capacity;
  }

  /**
   * Gives the requested node a slot of the scope, or the one it already holds. A node claims only
   * for itself; the publisher for any node; no other caller claims.
   *
   * @throws UpgradeException ACCESS_DENIED, NAME_INVALID, NOT_FOUND (no such release), SCOPE_FULL
   */
  public Result claim(Caller caller, ClaimRequest request) throws IOException {
    if (caller instanceof Caller.Node node) {
      if (!node.id().equals(request.node())) {
        throw new UpgradeException(ErrorCode.ACCESS_DENIED, "node " + node.id() + " cannot claim for node "
            + Printable.of(String.valueOf(request.node())));
      }
    } else if (!(caller instanceof Caller.Publisher)) {
      throw new UpgradeException(ErrorCode.ACCESS_DENIED, "a " + caller.role() + " cannot claim rollout slots");
    }
    request.requireValidNames();
    return claim(request.app(), request.version(), request.scope(), request.node());
  }

  private Result claim(String app, String version, String scope, String node) throws IOException {
    Names.requireApp(app);
    Names.requireVersion(version);
    Names.requireScope(scope);
    Names.requireNodeId(node);
    int slots = capacity.of(scope);
    if (store.stat(RepositoryLayout.releaseManifest(app, version)).isEmpty()) {
      throw new UpgradeException(ErrorCode.NOT_FOUND, app + " " + version + " is not published; nodes claim slots"
          + " for published releases only");
    }
    String dir = RepositoryLayout.claimDirectory(app, version, scope);
    String index = RepositoryLayout.claimIndex(app, version, scope, node);
    Optional<Claim> held = readHeld(index, app, version, scope, node);
    if (held.isPresent()) {
      return new Result(held.get(), false, slots);
    }
    AtomicInteger hint = firstFree.computeIfAbsent(dir, d -> new AtomicInteger());
    // Requests of one node are serialized within this process, so that a retry racing its original
    // never wins a second slot; between processes the index decides (see the class comment).
    ReentrantLock lock = nodeLocks[Math.floorMod(31 * dir.hashCode() + node.hashCode(), nodeLocks.length)];
    lock.lock();
    try {
      held = readHeld(index, app, version, scope, node);
      if (held.isPresent()) {
        return new Result(held.get(), false, slots);
      }
      for (int attempt = 0; attempt < 3; attempt++) {
        Optional<Result> allocated = allocate(app, version, scope, node, slots, index, hint);
        if (allocated.isPresent()) {
          return allocated.get();
        }
        hint.accumulateAndGet(slots, Math::max);
        Optional<Claim> orphan = findOrphan(app, version, scope, node, slots, hint);
        if (orphan.isPresent()) {
          store.create(index, Json.canonicalBytes(new NodeIndex(node, orphan.get().slot())));
          Optional<Claim> recorded = readHeld(index, app, version, scope, node);
          return new Result(recorded.orElse(orphan.get()), false, slots);
        }
        if (hint.get() >= slots) {
          break; // really full, and the node holds no slot
        }
      }
    } finally {
      lock.unlock();
    }
    throw new UpgradeException(ErrorCode.SCOPE_FULL, "all " + slots + " slots of " + app + " " + version + " "
        + scope + " are taken; retry when the next wave opens");
  }

  private Optional<Result> allocate(String app, String version, String scope, String node, int slots, String index,
      AtomicInteger hint) throws IOException {
    while (true) {
      // Concurrent requests in this process take distinct candidates, so they do not all write a
      // temp file for the same slot; the exclusive creation still decides, also against other processes.
      int n = hint.getAndIncrement();
      if (n >= slots) {
        hint.accumulateAndGet(slots, Math::min);
        return Optional.empty();
      }
      String slot = RepositoryLayout.claimSlot(app, version, scope, n);
      if (store.stat(slot).isPresent()) {
        continue;
      }
      Claim claim = Claim.of(app, version, scope, n, node, clock.instant());
      boolean won;
      try {
        won = store.createOrRead(slot, Json.canonicalBytes(claim), DocumentType.CLAIM.maxBytes()).created();
      } catch (IOException | RuntimeException e) {
        hint.accumulateAndGet(n, Math::min); // the candidate stays free for the next request
        throw e;
      }
      if (!won) {
        continue;
      }
      RepositoryStore.Created recordedIndex = store.createOrRead(index, Json.canonicalBytes(new NodeIndex(node, n)),
          DocumentType.CLAIM.maxBytes());
      if (recordedIndex.created()) {
        return Optional.of(new Result(claim, true, slots));
      }
      // Another request of the same node recorded its index first. If it recorded this very slot
      // (it found the slot while scanning a full scope), the slot stays; otherwise the node holds
      // another slot, and this one is given back so that a node never holds two.
      NodeIndex recorded = Json.read(recordedIndex.stored(), NodeIndex.class, "claim index");
      if (recorded.slot() != n) {
        store.delete(slot);
        hint.accumulateAndGet(n, Math::min);
      }
      Optional<Claim> held = readHeld(index, app, version, scope, node);
      if (held.isPresent()) {
        return Optional.of(new Result(held.get(), recorded.slot() == n, slots));
      }
      throw new UpgradeException(ErrorCode.IO_ERROR, "the claim index " + index + " does not name a slot held by "
          + node + "; inspect the claim directory");
    }
  }

  private Optional<Claim> readHeld(String index, String app, String version, String scope, String node)
      throws IOException {
    Optional<RepositoryStore.Versioned> bytes = store.read(index, DocumentType.CLAIM.maxBytes());
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    NodeIndex entry = Json.read(bytes.get().bytes(), NodeIndex.class, "claim index");
    String slot = RepositoryLayout.claimSlot(app, version, scope, entry.slot());
    Optional<RepositoryStore.Versioned> held = store.read(slot, DocumentType.CLAIM.maxBytes());
    if (held.isEmpty()) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "the claim index of " + node + " names slot " + entry.slot()
          + ", which does not exist; inspect " + RepositoryLayout.claimDirectory(app, version, scope));
    }
    Claim claim = Json.read(held.get().bytes(), DocumentType.CLAIM, Claim.class);
    if (!claim.node().equals(node)) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "the claim index of " + node + " names slot " + entry.slot()
          + ", which " + claim.node() + " holds; inspect " + RepositoryLayout.claimDirectory(app, version, scope));
    }
    return Optional.of(claim);
  }

  /**
   * Scans a full scope for a slot that names the node but has no index (a crash in between). A
   * free slot (given back after a race between processes) lowers the hint so the caller allocates
   * again. Costs one stat per slot, and reads the slots only when none is free.
   */
  private Optional<Claim> findOrphan(String app, String version, String scope, String node, int slots,
      AtomicInteger hint) throws IOException {
    for (int n = 0; n < slots; n++) {
      if (store.stat(RepositoryLayout.claimSlot(app, version, scope, n)).isEmpty()) {
        hint.accumulateAndGet(n, Math::min);
        return Optional.empty();
      }
    }
    for (int n = 0; n < slots; n++) {
      Optional<RepositoryStore.Versioned> slot = store.read(RepositoryLayout.claimSlot(app, version, scope, n),
          DocumentType.CLAIM.maxBytes());
      if (slot.isEmpty()) {
        hint.accumulateAndGet(n, Math::min);
        return Optional.empty();
      }
      Claim claim = Json.read(slot.get().bytes(), DocumentType.CLAIM, Claim.class);
      if (claim.node().equals(node)) {
        return Optional.of(claim);
      }
    }
    return Optional.empty();
  }

  private final ReentrantLock[] nodeLocks = newLocks(64);

  private static ReentrantLock[] newLocks(int n) {
    ReentrantLock[] locks = new ReentrantLock[n];
    for (int i = 0; i < n; i++) {
      locks[i] = new ReentrantLock();
    }
    return locks;
  }
}
