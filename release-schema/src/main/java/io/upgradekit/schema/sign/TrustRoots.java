package io.upgradekit.schema.sign;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.TrustRoot;
import java.io.IOException;
import java.time.Clock;

/**
 * Trust-root pinning and rotation.
 *
 * <p>A node starts from a pinned root, which must be signed by a threshold of its own root keys.
 * Root N+1 replaces N only if it is signed by a threshold of N's root keys <em>and</em> a threshold
 * of its own, and its version is exactly N+1. Intermediate roots may have expired (a node that was
 * off for a year still walks the chain); the root the walk ends on must not.
 */
public final class TrustRoots {
  /** Rotations walked in one update; a longer chain continues on the next update. */
  public static final int MAX_ROTATIONS_PER_UPDATE = 64;

  /** Fetches the trust root of a version, or returns null if the repository has none. */
  @FunctionalInterface
  public interface RootFetcher {
    byte[] fetch(long version) throws IOException;
  }

  private TrustRoots() {}

  /**
   * Reads a pinned (initial) root: self-signed by a threshold of its own root keys, not expired.
   *
   * @throws UpgradeException with the verification codes of {@link MetadataVerifier}
   */
  public static TrustRoot readPinned(byte[] bytes, Clock clock) {
    SignedEnvelope envelope = Envelopes.parse(bytes, DocumentType.ROOT);
    TrustRoot root = Json.read(envelope.payloadBytes(), TrustRoot.class, "root");
    MetadataVerifier.verifySignatures(envelope, DocumentType.ROOT, root.role(Role.ROOT), root.keys());
    new MetadataVerifier(root, clock).requireNotExpired(root, DocumentType.ROOT);
    return root;
  }

  /**
   * Verifies one rotation step from {@code current} to the root in {@code nextBytes}. Does not
   * check expiry (see the class comment).
   */
  public static TrustRoot verifyNext(TrustRoot current, byte[] nextBytes) {
    SignedEnvelope envelope = Envelopes.parse(nextBytes, DocumentType.ROOT);
    // The old root's keys must have signed before anything in the new one is believed.
    byte[] payload = MetadataVerifier.verifySignatures(envelope, DocumentType.ROOT, current.role(Role.ROOT),
        current.keys());
    TrustRoot next = Json.read(payload, TrustRoot.class, "root");
    if (next.version() <= current.version()) {
      throw new UpgradeException(ErrorCode.ROLLBACK_REFUSED, "trust root version " + next.version()
          + " is not newer than the trusted version " + current.version());
    }
    if (next.version() != current.version() + 1) {
      throw new UpgradeException(ErrorCode.METADATA_INCONSISTENT, "trust root version " + next.version()
          + " skips version " + (current.version() + 1) + "; rotations must be walked one version at a time");
    }
    MetadataVerifier.verifySignatures(envelope, DocumentType.ROOT, next.role(Role.ROOT), next.keys());
    return next;
  }

  /**
   * Walks rotations from {@code trusted}: fetches version+1, +2, ... until the fetcher has none
   * or {@link #MAX_ROTATIONS_PER_UPDATE} were walked, verifying each step. The resulting root must
   * not be expired.
   *
   * @throws IOException from the fetcher
   * @throws UpgradeException when a step fails verification or the result has expired
   */
  public static TrustRoot update(TrustRoot trusted, RootFetcher fetcher, Clock clock) throws IOException {
    TrustRoot current = trusted;
    for (int step = 0; step < MAX_ROTATIONS_PER_UPDATE; step++) {
      byte[] next = fetcher.fetch(current.version() + 1);
      if (next == null) {
        break;
      }
      current = verifyNext(current, next);
    }
    new MetadataVerifier(current, clock).requireNotExpired(current, DocumentType.ROOT);
    return current;
  }
}
