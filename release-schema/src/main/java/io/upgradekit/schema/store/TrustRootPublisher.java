package io.upgradekit.schema.store;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.time.Clock;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * The one place that publishes trust roots into a repository, for the plugin's {@code keygen}
 * and repo-server's {@code PUT /v1/roots/<n>} alike, so that both hold the same rules:
 *
 * <ul>
 *   <li>A root trusted without a chain (the first root of a new repository, or a root an operator
 *       pins) must verify on its own: signed by a threshold of its own root keys, not expired
 *       ({@link #install}).
 *   <li>A rotation must be exactly the next version, signed by a threshold of the current root's
 *       keys and of its own, and not expired ({@link #publishNext}, {@link TrustRoots#verifyNext}).
 *   <li>{@code roots/<n>.root.json} is created once and never replaced; {@code root.json} follows
 *       it, after it (a reader that finds {@code root.json} can always walk the chain to it), by
 *       compare-and-swap, and never moves back to an older version.
 * </ul>
 *
 * <p>Thread-safe; safe with several publishers in several processes on one store.
 */
public final class TrustRootPublisher {
  /** How often {@code root.json} is read again when other publishers keep replacing it. */
  private static final int MAX_SWAP_ATTEMPTS = 8;

  /** What a publication did. */
  public enum Outcome {
    /** This call stored the root. */
    CREATED,
    /** The repository held this very root already; nothing changed. */
    UNCHANGED,
    /** The repository holds another root of that version; nothing changed. */
    CONFLICT
  }

  private final RepositoryStore store;
  private final Clock clock;

  /** @param clock judges expiry */
  public TrustRootPublisher(RepositoryStore store, Clock clock) {
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * The repository's {@code root.json} as found, verified on its own (self-signed, not expired):
   * what a repository without a pinned root trusts first.
   *
   * @return the root, or empty if the repository has none
   * @throws UpgradeException the verification codes, METADATA_TOO_LARGE
   */
  public Optional<TrustRoot> readCurrent() throws IOException {
    Optional<RepositoryStore.Versioned> current = store.read(RepositoryLayout.trustRoot(), DocumentType.ROOT.maxBytes());
    return current.isEmpty() ? Optional.empty() : Optional.of(TrustRoots.readPinned(current.get().bytes(), clock));
  }

  /** Whether the repository holds {@code roots/<version>.root.json}. */
  public boolean has(long version) throws IOException {
    return store.stat(RepositoryLayout.trustRoot(version)).isPresent();
  }

  /**
   * Follows the rotations published after {@code trusted} ({@code roots/<n+1>.root.json}, ...),
   * verifying each step ({@link TrustRoots#update}).
   *
   * @return the newest root reached; {@code trusted} if there is no rotation
   * @throws UpgradeException when a step does not verify or the result has expired
   */
  public TrustRoot follow(TrustRoot trusted) throws IOException {
    return TrustRoots.update(trusted, this::version, clock);
  }

  /** The bytes of {@code roots/<version>.root.json}, or null; read bounded. */
  public byte[] version(long version) throws IOException {
    return store.read(RepositoryLayout.trustRoot(version), DocumentType.ROOT.maxBytes())
        .map(RepositoryStore.Versioned::bytes).orElse(null);
  }

  /**
   * Installs a root that the caller trusts without a chain: the first root of a new repository,
   * or the root an operator pins. It must verify on its own ({@link TrustRoots#readPinned}). It is
   * stored as {@code roots/<n>.root.json} (where an identical one may be), and as {@code
   * root.json} if the repository has none yet (an existing {@code root.json} is left alone).
   *
   * @return {@link Outcome#CREATED} if this call stored either file, {@link Outcome#UNCHANGED} if
   *     both were there, {@link Outcome#CONFLICT} if {@code roots/<n>.root.json} holds another
   *     root (then nothing was changed)
   * @throws UpgradeException the verification codes
   */
  public Outcome install(byte[] envelope) throws IOException {
    Json.requireWithinCap(envelope.length, DocumentType.ROOT);
    TrustRoot root = TrustRoots.readPinned(envelope, clock);
    RepositoryStore.Created versioned = store.createOrRead(RepositoryLayout.trustRoot(root.version()), envelope,
        DocumentType.ROOT.maxBytes());
    if (!versioned.created() && !Arrays.equals(versioned.stored(), envelope)) {
      return Outcome.CONFLICT;
    }
    // The numbered version first: a node that finds root.json can always walk the chain to it.
    boolean current = store.create(RepositoryLayout.trustRoot(), envelope).written();
    return versioned.created() || current ? Outcome.CREATED : Outcome.UNCHANGED;
  }

  /**
   * Publishes the rotation from {@code trusted} to {@code version}: the root in {@code envelope}
   * must be exactly version {@code trusted.version() + 1}, signed by a threshold of {@code
   * trusted}'s root keys and of its own, and not expired. It is stored as {@code
   * roots/<version>.root.json} (created once), then as {@code root.json} unless a later version
   * is there already.
   *
   * @param trusted the root the caller trusts now (pinned, or reached by verified rotations)
   * @return {@link Outcome#CREATED}, {@link Outcome#UNCHANGED} if this very root was published
   *     already, or {@link Outcome#CONFLICT} if another root of that version was published
   *     meanwhile (nothing was changed)
   * @throws UpgradeException VERSION_EXISTS for another root of a version at or below the trusted
   *     one, METADATA_INCONSISTENT for a skipped or mislabelled version, the verification codes
   */
  public Outcome publishNext(TrustRoot trusted, long version, byte[] envelope) throws IOException {
    Objects.requireNonNull(trusted, "trusted");
    Json.requireWithinCap(envelope.length, DocumentType.ROOT);
    if (version <= trusted.version()) {
      if (version >= 1 && Arrays.equals(version(version), envelope)) {
        return Outcome.UNCHANGED;
      }
      throw new UpgradeException(ErrorCode.VERSION_EXISTS, "trust root version " + version
          + " is already published (the current version is " + trusted.version() + "); publish version "
          + (trusted.version() + 1));
    }
    if (version != trusted.version() + 1) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "trust root version " + version
          + " skips versions: the current version is " + trusted.version() + ", publish " + (trusted.version() + 1));
    }
    TrustRoot next = TrustRoots.update(trusted, v -> v == version ? envelope : null, clock);
    if (next.version() != version) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "the document is trust root version "
          + next.version() + ", but was sent as version " + version);
    }
    RepositoryStore.Created versioned = store.createOrRead(RepositoryLayout.trustRoot(version), envelope,
        DocumentType.ROOT.maxBytes());
    if (!versioned.created() && !Arrays.equals(versioned.stored(), envelope)) {
      return Outcome.CONFLICT;
    }
    advanceCurrent(version, envelope);
    return versioned.created() ? Outcome.CREATED : Outcome.UNCHANGED;
  }

  /** Makes {@code root.json} hold {@code version} unless it holds a later one already. */
  private void advanceCurrent(long version, byte[] envelope) throws IOException {
    for (int attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt++) {
      Optional<RepositoryStore.Versioned> current = store.read(RepositoryLayout.trustRoot(),
          DocumentType.ROOT.maxBytes());
      if (current.isPresent() && unverifiedVersion(current.get().bytes()) >= version) {
        return; // root.json never moves backwards
      }
      String expected = current.map(RepositoryStore.Versioned::tag).orElse(null);
      if (store.compareAndSwap(RepositoryLayout.trustRoot(), expected, version, envelope).written()) {
        return;
      }
    }
    throw new UpgradeException(ErrorCode.IO_ERROR, "root.json in " + store.location() + " kept changing while trust"
        + " root version " + version + " was published (which is stored as " + RepositoryLayout.trustRoot(version)
        + "); publish it again to make root.json follow");
  }

  /** The version of a stored {@code root.json}, which was verified when it was stored; -1 if unreadable. */
  private static long unverifiedVersion(byte[] stored) {
    try {
      return Json.read(Envelopes.parse(stored, DocumentType.ROOT).payloadBytes(), TrustRoot.class, "root").version();
    } catch (UpgradeException e) {
      return -1; // damaged: replace it
    }
  }
}
