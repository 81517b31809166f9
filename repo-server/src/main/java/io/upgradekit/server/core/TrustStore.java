package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The trust root that publications are verified against: pinned at start (from {@code
 * --trust-root}, or the repository's own {@code root.json} on first use), then advanced only
 * along verified rotations ({@code roots/<n>.root.json}, each signed by the previous root's keys).
 * A leaked publisher token therefore cannot swap the keys: a new root must be signed by the old.
 *
 * <p>Thread-safe. Several server processes may share one repository: each notices rotations that
 * another published by looking for {@code roots/<v+1>.root.json} (one stat per publication).
 */
public final class TrustStore {
  private final Path root;
  private final Clock clock;
  private final Consumer<String> log;
  private volatile TrustRoot current;

  private TrustStore(Path root, Clock clock, Consumer<String> log) {
    this.root = root;
    this.clock = clock;
    this.log = log;
  }

  /**
   * Opens the trust store of a repository.
   *
   * @param pinned the bytes of a trust root to start from, or null to trust the repository's
   *     {@code root.json} as found. A pinned root that the repository does not hold yet is
   *     installed there (as {@code roots/<n>.root.json} and {@code root.json}).
   * @throws UpgradeException when the pinned or found root does not verify, or the repository's
   *     chain of rotations is broken
   * @throws IOException when the repository cannot be read or written
   */
  public static TrustStore open(Path root, byte[] pinned, Clock clock, Consumer<String> log) throws IOException {
    TrustStore store = new TrustStore(root, clock, log);
    Path rootJson = RepositoryLayout.resolve(root, RepositoryLayout.trustRoot());
    if (pinned != null) {
      TrustRoot pin = TrustRoots.readPinned(pinned, clock);
      Path versioned = RepositoryLayout.resolve(root, RepositoryLayout.trustRoot(pin.version()));
      DurableFiles.createDirectories(versioned.getParent());
      if (!DurableFiles.createExclusively(versioned, pinned) && !Arrays.equals(Files.readAllBytes(versioned), pinned)) {
        throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the repository's " + root.relativize(versioned)
            + " differs from the pinned trust root given with --trust-root; pin the repository's own root");
      }
      if (!Files.exists(rootJson)) {
        DurableFiles.writeAtomically(rootJson, pinned);
        log.accept("installed the pinned trust root version " + pin.version() + " as " + rootJson);
      }
      store.current = pin;
    } else if (Files.exists(rootJson)) {
      try {
        store.current = TrustRoots.readPinned(Files.readAllBytes(rootJson), clock);
      } catch (UpgradeException e) {
        throw new UpgradeException(e.code(), "the repository's root.json does not verify (" + e.getMessage()
            + "); restore it, or pin the right root with --trust-root FILE", e);
      }
      log.accept("trusting the repository's root.json (version " + store.current.version()
          + ") as found; pin it with --trust-root to refuse a substituted root");
    } else {
      log.accept("the repository has no root.json yet: publishing is refused until it has one"
          + " (start with --trust-root FILE to install one)");
      return store;
    }
    store.refresh();
    return store;
  }

  /**
   * The current trust root, after following any rotation published meanwhile.
   *
   * @throws UpgradeException REFERENCE_MISSING when the repository has no trust root
   */
  public TrustRoot current() throws IOException {
    if (current == null) {
      synchronized (this) {
        Path rootJson = RepositoryLayout.resolve(root, RepositoryLayout.trustRoot());
        if (current == null && Files.exists(rootJson)) {
          current = TrustRoots.readPinned(Files.readAllBytes(rootJson), clock);
        }
      }
      if (current == null) {
        throw new UpgradeException(ErrorCode.REFERENCE_MISSING, "the repository has no trust root (root.json):"
            + " start the server with --trust-root FILE, or publish the first root with the plugin's directory mode");
      }
    }
    refresh();
    return current;
  }

  private void refresh() throws IOException {
    TrustRoot known = current;
    if (!Files.exists(RepositoryLayout.resolve(root, RepositoryLayout.trustRoot(known.version() + 1)))) {
      return;
    }
    synchronized (this) {
      TrustRoot walked = TrustRoots.update(current, version -> read(RepositoryLayout.trustRoot(version)), clock);
      if (walked.version() != current.version()) {
        log.accept("trust root rotated from version " + current.version() + " to " + walked.version());
        current = walked;
      }
    }
  }

  private byte[] read(String relative) throws IOException {
    try {
      return Files.readAllBytes(RepositoryLayout.resolve(root, relative));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /**
   * Publishes trust root version {@code version}: it must be the current version plus one, signed
   * by a threshold of the current root's keys and of its own, and not expired. Stored as {@code
   * roots/<n>.root.json} (created exclusively) and then as {@code root.json}.
   *
   * @return true if stored now, false if the identical root was there already
   * @throws UpgradeException verification codes, or VERSION_EXISTS for another root of that version
   */
  public synchronized boolean publish(long version, byte[] bytes) throws IOException {
    TrustRoot trusted = current();
    Path versioned = RepositoryLayout.resolve(root, RepositoryLayout.trustRoot(version));
    if (version <= trusted.version()) {
      byte[] existing = read(RepositoryLayout.trustRoot(version));
      if (existing != null && Arrays.equals(existing, bytes)) {
        return false;
      }
      throw new UpgradeException(ErrorCode.VERSION_EXISTS, "trust root version " + version
          + " is already published (the current version is " + trusted.version() + "); publish version "
          + (trusted.version() + 1));
    }
    if (version != trusted.version() + 1) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "trust root version " + version
          + " skips versions: the current version is " + trusted.version() + ", publish " + (trusted.version() + 1));
    }
    TrustRoot next = TrustRoots.update(trusted, v -> v == version ? bytes : null, clock);
    if (next.version() != version) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the document is trust root version "
          + next.version() + ", but was sent as version " + version);
    }
    DurableFiles.createDirectories(versioned.getParent());
    if (!DurableFiles.createExclusively(versioned, bytes) && !Arrays.equals(Files.readAllBytes(versioned), bytes)) {
      throw new UpgradeException(ErrorCode.VERSION_EXISTS, "another trust root version " + version
          + " was published at the same time");
    }
    // root.json must never move backwards: skip it if a later rotation has already landed.
    if (!Files.exists(RepositoryLayout.resolve(root, RepositoryLayout.trustRoot(version + 1)))) {
      DurableFiles.writeAtomically(RepositoryLayout.resolve(root, RepositoryLayout.trustRoot()), bytes);
    }
    current = next;
    log.accept("published trust root version " + version);
    return true;
  }

  /** The repository root this store belongs to. */
  public Path repository() {
    return Objects.requireNonNull(root);
  }
}
