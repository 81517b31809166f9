package io.upgradekit.server.core;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.TrustRoots;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.schema.store.TrustRootPublisher;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The trust root that publications are verified against: pinned at start (from {@code
 * --trust-root}, or the repository's own {@code root.json} on first use), then advanced only
 * along verified rotations ({@code roots/<n>.root.json}, each signed by the previous root's keys).
 * A leaked publisher token therefore cannot swap the keys: a new root must be signed by the old.
 * The rules of installing and rotating roots are release-schema's {@link TrustRootPublisher}, which
 * the plugin's keygen follows too.
 *
 * <p>Thread-safe. Several server processes may share one repository: each notices rotations that
 * another published by looking for {@code roots/<v+1>.root.json} (one stat per publication).
 */
public final class TrustStore {
  private final TrustRootPublisher publisher;
  private final Consumer<String> log;
  private volatile TrustRoot current;

  private TrustStore(RepositoryStore store, Clock clock, Consumer<String> log) {
    this.publisher = new TrustRootPublisher(store, clock);
    this.log = log;
  }

  /**
   * Opens the trust store of the directory store at {@code root}; see {@link #open(RepositoryStore,
   * byte[], Clock, Consumer)}.
   */
  public static TrustStore open(Path root, byte[] pinned, Clock clock, Consumer<String> log) throws IOException {
    return open(new DirectoryStore(root), pinned, clock, log);
  }

  /**
   * Opens the trust store of a repository.
   *
   * @param pinned the bytes of a trust root to start from, or null to trust the repository's
   *     {@code root.json} as found. A pinned root that the repository does not hold yet is
   *     installed there (as {@code roots/<n>.root.json} and, if there is none, {@code root.json}).
   * @throws UpgradeException when the pinned or found root does not verify, or the repository's
   *     chain of rotations is broken
   * @throws IOException when the repository cannot be read or written
   */
  public static TrustStore open(RepositoryStore store, byte[] pinned, Clock clock, Consumer<String> log)
      throws IOException {
    TrustStore trust = new TrustStore(store, clock, log);
    if (pinned != null) {
      TrustRoot pin = TrustRoots.readPinned(pinned, clock);
      TrustRootPublisher.Outcome installed = trust.publisher.install(pinned);
      if (installed == TrustRootPublisher.Outcome.CONFLICT) {
        throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the repository's "
            + RepositoryLayout.trustRoot(pin.version()) + " differs from the pinned trust root given with"
            + " --trust-root; pin the repository's own root");
      }
      if (installed == TrustRootPublisher.Outcome.CREATED) {
        log.accept("installed the pinned trust root version " + pin.version() + " into " + store.location());
      }
      trust.current = pin;
    } else {
      Optional<TrustRoot> found;
      try {
        found = trust.publisher.readCurrent();
      } catch (UpgradeException e) {
        throw new UpgradeException(e.code(), "the repository's root.json does not verify (" + e.getMessage()
            + "); restore it, or pin the right root with --trust-root FILE", e);
      }
      if (found.isEmpty()) {
        log.accept("the repository has no root.json yet: publishing is refused until it has one"
            + " (start with --trust-root FILE to install one)");
        return trust;
      }
      trust.current = found.get();
      log.accept("trusting the repository's root.json (version " + trust.current.version()
          + ") as found; pin it with --trust-root to refuse a substituted root");
    }
    trust.refresh();
    return trust;
  }

  /**
   * The current trust root, after following any rotation published meanwhile.
   *
   * @throws UpgradeException REFERENCE_MISSING when the repository has no trust root
   */
  public TrustRoot current() throws IOException {
    if (current == null) {
      synchronized (this) {
        if (current == null) {
          current = publisher.readCurrent().orElse(null);
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
    if (!publisher.has(current.version() + 1)) {
      return;
    }
    synchronized (this) {
      TrustRoot walked = publisher.follow(current);
      if (walked.version() != current.version()) {
        log.accept("trust root rotated from version " + current.version() + " to " + walked.version());
        current = walked;
      }
    }
  }

  /**
   * Publishes trust root version {@code version}: it must be the current version plus one, signed
   * by a threshold of the current root's keys and of its own, and not expired ({@link
   * TrustRootPublisher#publishNext}).
   *
   * @return true if stored now, false if the identical root was there already
   * @throws UpgradeException verification codes, or VERSION_EXISTS for another root of that version
   */
  public synchronized boolean publish(long version, byte[] bytes) throws IOException {
    TrustRoot trusted = current();
    TrustRootPublisher.Outcome outcome = publisher.publishNext(trusted, version, bytes);
    if (outcome == TrustRootPublisher.Outcome.CONFLICT) {
      throw new UpgradeException(ErrorCode.VERSION_EXISTS, "another trust root version " + version
          + " was published at the same time");
    }
    if (version == trusted.version() + 1) {
      current = TrustRoots.verifyNext(trusted, bytes);
    }
    if (outcome == TrustRootPublisher.Outcome.CREATED) {
      log.accept("published trust root version " + version);
    }
    return outcome == TrustRootPublisher.Outcome.CREATED;
  }
}
