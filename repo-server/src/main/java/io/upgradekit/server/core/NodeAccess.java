package io.upgradekit.server.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.store.RepositoryStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Which node credentials the server accepts beyond the secret: per node, a <em>generation</em> (the
 * credential is derived from the secret, the node id and the generation) and whether the node is
 * <em>revoked</em>. Nodes not listed are at generation 1 and admitted, so a repository without the
 * file accepts every credential derived from the secret, as before.
 *
 * <p>The list is one document in the repository, {@value #FILE}: a dot directory, so it is never
 * served (repo-server and static servers hide dot paths), and in the repository so that every
 * repo-server process sharing it agrees. Operators change it with {@code repo-server
 * node-credential --revoke/--readmit}, which read, change and rewrite it ({@link
 * DurableFiles#writeAtomically}) under an OS lock. A running server notices a new version of the
 * file within {@code refresh} of the first node request after it (one {@code stat}, by one
 * thread, at most once per {@code refresh}), without a restart. A file that cannot be read or
 * parsed fails closed: node requests are refused until it is fixed, rather than let a revoked node
 * in.
 *
 * <p>Thread-safe; {@link #entry} costs a map lookup.
 */
public final class NodeAccess {
  /** The document's place in the repository. */
  public static final String FILE = ".access/nodes.json";

  /**
   * The document's place in a repository in an object store, which has no hidden paths: under the
   * API's private {@code fleet/} directory, which repo-server never serves (keep the bucket itself
   * private too).
   */
  public static final String STORE_PATH = "fleet/access/nodes.json";

  /** The document's {@code type}. */
  public static final String TYPE = "node-access";

  /** How often a running server looks for a new version of the file, by default. */
  public static final Duration DEFAULT_REFRESH = Duration.ofSeconds(2);

  /** Far above 10,000 listed nodes (about 100 bytes each). */
  static final int MAX_BYTES = 16 << 20;

  private static final Duration LOCK_WAIT = Duration.ofSeconds(30);

  /**
   * One node's credential state.
   *
   * @param generation which credential is current: 1 is the one derived from the node id alone, each
   *     re-admission adds one
   * @param revoked true if the node's current credential is refused
   * @param changedAt when this entry last changed, or null
   * @param reason the operator's note (why it was revoked), or null
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Entry(long generation, boolean revoked, Instant changedAt, String reason) {
    public Entry {
      if (generation < 1) {
        throw new IllegalArgumentException("generation must be 1 or more: " + generation);
      }
      if (reason != null && reason.length() > 500) {
        throw new IllegalArgumentException("reason is longer than 500 characters");
      }
    }
  }

  /** The entry of every node that is not listed. */
  public static final Entry ADMITTED = new Entry(1, false, null, null);

  /**
   * The file's content.
   *
   * @param type always {@value #TYPE}
   * @param nodes the entries of the nodes that were revoked or re-admitted, by node id
   */
  public record Document(String type, Map<String, Entry> nodes) {
    public Document {
      if (!TYPE.equals(type)) {
        throw new IllegalArgumentException("type must be " + TYPE);
      }
      Objects.requireNonNull(nodes, "nodes");
      for (Map.Entry<String, Entry> node : nodes.entrySet()) {
        Names.requireNodeId(node.getKey());
        Objects.requireNonNull(node.getValue(), "nodes." + node.getKey());
      }
      nodes = Map.copyOf(nodes);
    }
  }

  private final Supplier<Map<String, Entry>> nodes;

  private NodeAccess(Supplier<Map<String, Entry>> nodes) {
    this.nodes = nodes;
  }

  /**
   * Reads the list of a repository for a server.
   *
   * @param refresh how long a changed file may go unnoticed (zero: checked on every request)
   * @param nanoTime the monotonic clock ({@code System::nanoTime})
   * @throws UpgradeException IO_ERROR if the file exists but cannot be used
   */
  public static NodeAccess open(Path root, Duration refresh, LongSupplier nanoTime) {
    Path file = root.resolve(FILE);
    return new NodeAccess(new WatchedFile<>(file, refresh, nanoTime, f -> {
      try {
        return read(f).nodes();
      } catch (NoSuchFileException e) {
        return Map.of();
      }
    }, why -> new UpgradeException(ErrorCode.IO_ERROR, "the node access list " + file + " cannot be used (" + why
        + "), so node requests are refused: restore it from a backup, or rewrite it with 'repo-server"
        + " node-credential --root DIR --revoke/--readmit'")));
  }

  /**
   * Reads the list of a repository in a store (an object store) for a server: {@value #STORE_PATH},
   * read again at most once per {@code refresh}.
   *
   * @throws UpgradeException IO_ERROR if the document exists but cannot be used, or the store cannot
   *     be read
   */
  public static NodeAccess open(RepositoryStore store, Duration refresh, LongSupplier nanoTime) {
    return new NodeAccess(new WatchedDocument<>(store, STORE_PATH, MAX_BYTES, refresh, nanoTime,
        bytes -> bytes == null ? Map.of() : Json.read(bytes, Document.class, "node access list").nodes(),
        why -> new UpgradeException(ErrorCode.IO_ERROR, "the node access list " + STORE_PATH + " in "
            + store.location() + " cannot be used (" + why + "), so node requests are refused: rewrite it with"
            + " 'repo-server node-credential --store ADDRESS --revoke/--readmit', or restore it")));
  }

  /**
   * The node's entry ({@link #ADMITTED} if it is not listed), from a version of the file at most
   * {@code refresh} old.
   *
   * @throws UpgradeException IO_ERROR if the file became unreadable or invalid (fail closed)
   */
  public Entry entry(String node) {
    return nodes.get().getOrDefault(node, ADMITTED);
  }

  private static Document read(Path file) throws IOException {
    byte[] bytes;
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size > MAX_BYTES) {
        throw new UpgradeException(ErrorCode.METADATA_TOO_LARGE, "it is " + size + " bytes, more than "
            + MAX_BYTES);
      }
      ByteBuffer buffer = ByteBuffer.allocate((int) size);
      while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
        // until full: the file is replaced by rename, never changed in place
      }
      bytes = Arrays.copyOf(buffer.array(), buffer.position());
    }
    return Json.read(bytes, Document.class, "node access list");
  }

  // ---- Administration (the node-credential command; any process, any number at once) ----

  /** Every listed node's entry, by node id. */
  public static Map<String, Entry> list(Path root) throws IOException {
    Path file = root.resolve(FILE);
    try {
      return new TreeMap<>(read(file).nodes());
    } catch (NoSuchFileException e) {
      return new TreeMap<>();
    }
  }

  /** A node's entry as the file says now. */
  public static Entry current(Path root, String node) throws IOException {
    Names.requireNodeId(node);
    return list(root).getOrDefault(node, ADMITTED);
  }

  /**
   * Refuses the node's current credential from now on (within the servers' refresh delay).
   * Revoking a revoked node changes nothing.
   *
   * @return the node's new entry
   */
  public static Entry revoke(Path root, String node, String reason, Clock clock) throws IOException {
    return change(root, node, old -> old.revoked() ? old
        : new Entry(old.generation(), true, clock.instant().truncatedTo(ChronoUnit.SECONDS), reason));
  }

  /**
   * Admits the node again with a new credential (the next generation): its earlier credentials stay
   * refused. Also rotates the credential of a node that was never revoked.
   *
   * @return the node's new entry
   */
  public static Entry readmit(Path root, String node, Clock clock) throws IOException {
    return change(root, node, old -> new Entry(old.generation() + 1, false,
        clock.instant().truncatedTo(ChronoUnit.SECONDS), null));
  }

  private interface Change {
    Entry apply(Entry old);
  }

  /** Every listed node's entry in a repository in a store, by node id. */
  public static Map<String, Entry> list(RepositoryStore store) throws IOException {
    Optional<RepositoryStore.Versioned> read = store.read(STORE_PATH, MAX_BYTES);
    return read.isEmpty() ? new TreeMap<>()
        : new TreeMap<>(Json.read(read.get().bytes(), Document.class, "node access list").nodes());
  }

  /** A node's entry as the store's list says now. */
  public static Entry current(RepositoryStore store, String node) throws IOException {
    Names.requireNodeId(node);
    return list(store).getOrDefault(node, ADMITTED);
  }

  /** {@link #revoke(Path, String, String, Clock)} in a repository in a store. */
  public static Entry revoke(RepositoryStore store, String node, String reason, Clock clock) throws IOException {
    return change(store, node, old -> old.revoked() ? old
        : new Entry(old.generation(), true, clock.instant().truncatedTo(ChronoUnit.SECONDS), reason));
  }

  /** {@link #readmit(Path, String, Clock)} in a repository in a store. */
  public static Entry readmit(RepositoryStore store, String node, Clock clock) throws IOException {
    return change(store, node, old -> new Entry(old.generation() + 1, false,
        clock.instant().truncatedTo(ChronoUnit.SECONDS), null));
  }

  /** Read, change, compare-and-swap; again from the new version when another command was first. */
  private static Entry change(RepositoryStore store, String node, Change change) throws IOException {
    Names.requireNodeId(node);
    for (int attempt = 0; attempt < 10; attempt++) {
      Optional<RepositoryStore.Versioned> read = store.read(STORE_PATH, MAX_BYTES);
      Map<String, Entry> nodes = read.isEmpty() ? new TreeMap<>()
          : new TreeMap<>(Json.read(read.get().bytes(), Document.class, "node access list").nodes());
      Entry updated = change.apply(nodes.getOrDefault(node, ADMITTED));
      nodes.put(node, updated);
      RepositoryStore.Write write = store.compareAndSwap(STORE_PATH, read.map(RepositoryStore.Versioned::tag)
          .orElse(null), 0, Json.canonicalBytes(new Document(TYPE, nodes)));
      if (write.written()) {
        return updated;
      }
    }
    throw new UpgradeException(ErrorCode.IO_ERROR, "the node access list " + STORE_PATH + " in " + store.location()
        + " kept changing while it was updated (10 attempts): other node-credential commands are running; retry");
  }

  private static Entry change(Path root, String node, Change change) throws IOException {
    Names.requireNodeId(node);
    Path file = root.resolve(FILE);
    DurableFiles.createDirectories(file.getParent());
    Path lockFile = file.resolveSibling("." + file.getFileName() + ".lock");
    try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock ignored = lock(channel, lockFile)) {
      Map<String, Entry> nodes = list(root);
      Entry updated = change.apply(nodes.getOrDefault(node, ADMITTED));
      nodes.put(node, updated);
      DurableFiles.writeAtomically(file, Json.canonicalBytes(new Document(TYPE, nodes)));
      return updated;
    }
  }

  private static FileLock lock(FileChannel channel, Path lockFile) throws IOException {
    long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
    while (true) {
      FileLock lock = channel.tryLock();
      if (lock != null) {
        return lock;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new UpgradeException(ErrorCode.IO_ERROR, lockFile + " has been locked by another process for more than "
            + LOCK_WAIT.toSeconds() + " s (another node-credential command, stopped?); find it with 'fuser -v "
            + lockFile + "'");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UpgradeException(ErrorCode.IO_ERROR, "interrupted while waiting for " + lockFile, e);
      }
    }
  }
}
