package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.Claim;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Names;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Rollout slots: a scope (e.g. a wave of one release) has a bounded number of slots, and each is
 * given to exactly one node, by creating {@code slot-<n>.json} exclusively (a hard link, which the
 * operating system refuses if the name exists, also between processes sharing the repository).
 *
 * <p>A node that asks again gets its own claim back: after winning a slot, the node's index
 * {@code node-<node>.json} (also created exclusively) records which slot it holds. Should two
 * requests of the same node race and both win a slot, the one whose index lost gives its slot
 * back, so a node never holds two. A crash between the slot and the index leaves the slot naming
 * the node; when the scope is full, the node finds it again by scanning the slots.
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

  private final Path root;
  private final Clock clock;
  private final ClaimCapacity capacity;
  /** Per scope directory: the lowest slot that may still be free (slots only fill up). */
  private final ConcurrentHashMap<Path, AtomicInteger> firstFree = new ConcurrentHashMap<>();

  public ClaimService(Path root, Clock clock, ClaimCapacity capacity) {
    this.root = root;
    this.clock = clock;
    this.capacity = capacity;
  }

  /**
   * Gives the node a slot of the scope, or the one it already holds.
   *
   * @throws UpgradeException NAME_INVALID, NOT_FOUND (no such release), SCOPE_FULL
   */
  public Result claim(String app, String version, String scope, String node) throws IOException {
    Names.app(app);
    Names.version(version);
    Names.scope(scope);
    Names.node(node);
    int slots = capacity.of(scope);
    if (!Files.exists(RepositoryLayout.resolve(root, RepositoryLayout.releaseManifest(app, version)))) {
      throw new UpgradeException(ErrorCode.NOT_FOUND, app + " " + version + " is not published; nodes claim slots"
          + " for published releases only");
    }
    Path dir = RepositoryLayout.resolve(root, RepositoryLayout.claimDirectory(app, version, scope));
    Path index = RepositoryLayout.resolve(root, RepositoryLayout.claimIndex(app, version, scope, node));
    Optional<Claim> held = readHeld(index, app, version, scope, node);
    if (held.isPresent()) {
      return new Result(held.get(), false, slots);
    }
    DurableFiles.createDirectories(dir);
    AtomicInteger hint = firstFree.computeIfAbsent(dir, d -> new AtomicInteger());
    for (int attempt = 0; attempt < 3; attempt++) {
      Optional<Result> allocated = allocate(app, version, scope, node, slots, dir, index, hint);
      if (allocated.isPresent()) {
        return allocated.get();
      }
      hint.accumulateAndGet(slots, Math::max);
      Optional<Claim> orphan = findOrphan(app, version, scope, node, slots, hint);
      if (orphan.isPresent()) {
        DurableFiles.createExclusively(index, Json.canonicalBytes(new NodeIndex(node, orphan.get().slot())));
        return new Result(orphan.get(), false, slots);
      }
      if (hint.get() >= slots) {
        break; // really full, and the node holds no slot
      }
    }
    throw new UpgradeException(ErrorCode.SCOPE_FULL, "all " + slots + " slots of " + app + " " + version + " "
        + scope + " are taken; retry when the next wave opens");
  }

  private Optional<Result> allocate(String app, String version, String scope, String node, int slots, Path dir,
      Path index, AtomicInteger hint) throws IOException {
    for (int n = hint.get(); n < slots; n++) {
      Path slot = RepositoryLayout.resolve(root, RepositoryLayout.claimSlot(app, version, scope, n));
      if (Files.exists(slot)) {
        continue;
      }
      Claim claim = Claim.of(app, version, scope, n, node, clock.instant());
      if (!DurableFiles.createExclusively(slot, Json.canonicalBytes(claim))) {
        continue;
      }
      hint.accumulateAndGet(n + 1, Math::max);
      if (DurableFiles.createExclusively(index, Json.canonicalBytes(new NodeIndex(node, n)))) {
        return Optional.of(new Result(claim, true, slots));
      }
      // The same node won another slot at the same moment and recorded it first: give ours back.
      Files.deleteIfExists(slot);
      DurableFiles.fsyncDirectory(dir);
      hint.accumulateAndGet(n, Math::min);
      Optional<Claim> other = readHeld(index, app, version, scope, node);
      if (other.isPresent()) {
        return Optional.of(new Result(other.get(), false, slots));
      }
      throw new UpgradeException(ErrorCode.IO_ERROR, "the claim index " + root.relativize(index)
          + " does not name a slot held by " + node + "; inspect the claim directory");
    }
    return Optional.empty();
  }

  private Optional<Claim> readHeld(Path index, String app, String version, String scope, String node)
      throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(index);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    NodeIndex entry = Json.read(bytes, NodeIndex.class, "claim index");
    Path slot = RepositoryLayout.resolve(root, RepositoryLayout.claimSlot(app, version, scope, entry.slot()));
    Claim claim = Json.read(Files.readAllBytes(slot), DocumentType.CLAIM, Claim.class);
    if (!claim.node().equals(node)) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "the claim index of " + node + " names slot " + entry.slot()
          + ", which " + claim.node() + " holds; inspect " + root.relativize(index.getParent()));
    }
    return Optional.of(claim);
  }

  /**
   * Scans a full scope for a slot that names the node but has no index (a crash in between). A
   * slot found free (given back in a same-node race) lowers the hint so the caller allocates again.
   */
  private Optional<Claim> findOrphan(String app, String version, String scope, String node, int slots,
      AtomicInteger hint) throws IOException {
    String key = RepositoryLayout.claimDirectory(app, version, scope);
    Map<String, Claim> byNode = fullScopes.get(key);
    if (byNode == null) {
      Map<String, Claim> scanned = new ConcurrentHashMap<>();
      for (int n = 0; n < slots; n++) {
        Path slot = RepositoryLayout.resolve(root, RepositoryLayout.claimSlot(app, version, scope, n));
        try {
          Claim claim = Json.read(Files.readAllBytes(slot), DocumentType.CLAIM, Claim.class);
          scanned.put(claim.node(), claim);
        } catch (NoSuchFileException e) {
          hint.accumulateAndGet(n, Math::min);
          return Optional.empty();
        }
      }
      fullScopes.putIfAbsent(key, scanned);
      byNode = scanned;
    }
    return Optional.ofNullable(byNode.get(node));
  }

  /** Per full scope: who holds which slot (the slots of a full scope no longer change). */
  private final ConcurrentHashMap<String, Map<String, Claim>> fullScopes = new ConcurrentHashMap<>();
}
