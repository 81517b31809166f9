package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/** Reads a repository's own trust root: version 1, then every rotation after it. */
public final class RepositoryTrust {
  private RepositoryTrust() {}

  /**
   * The repository's current trust root, reached from {@code roots/1.root.json} by verified
   * rotations. Version 1 may have expired if a later one has not.
   *
   * @throws UpgradeException CONFIG_INVALID if the repository has none, or a verification code
   */
  public static TrustRoot load(Repository repository, Clock clock) throws IOException {
    Repository.Stored first = repository.read(RepositoryLayout.trustRoot(1), DocumentType.ROOT.maxBytes());
    if (first == null) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "the repository " + repository.location() + " has no trust"
          + " root (" + RepositoryLayout.trustRoot(1) + "): create one with 'mvn upgrade:keygen -Dupgrade.keyFile=PATH"
          + " -Dupgrade.repository=" + repository.location() + "', or check <repository>");
    }
    // Expiry is checked on the root the walk ends on, not on the steps.
    TrustRoot pinned = TrustRoots.readPinned(first.bytes(), Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));
    return TrustRoots.update(pinned, version -> {
      Repository.Stored next = repository.read(RepositoryLayout.trustRoot(version), DocumentType.ROOT.maxBytes());
      return next == null ? null : next.bytes();
    }, clock);
  }

  /**
   * The repository's newest trust root reached by verified rotations, whether or not it has
   * expired: the root to rotate from. An expired root's root key still signs the next version
   * (which must not be expired itself), and nodes walk to it through the expired one.
   *
   * @throws UpgradeException CONFIG_INVALID if the repository has none, or a verification code
   */
  public static TrustRoot loadForRotation(Repository repository) throws IOException {
    return load(repository, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));
  }

  /**
   * Every version of the repository's trust root, from 1 to the newest, each verified as a step
   * from the one before (expiry not checked): to tell a document a key signed before it was revoked
   * from one nobody with a key of the chain signed.
   *
   * @throws UpgradeException CONFIG_INVALID if the repository has none, or a verification code
   */
  public static List<TrustRoot> chain(Repository repository) throws IOException {
    Repository.Stored first = repository.read(RepositoryLayout.trustRoot(1), DocumentType.ROOT.maxBytes());
    if (first == null) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "the repository " + repository.location()
          + " has no trust root (" + RepositoryLayout.trustRoot(1) + ")");
    }
    List<TrustRoot> chain = new ArrayList<>();
    TrustRoot current = TrustRoots.readPinned(first.bytes(), Clock.fixed(Instant.EPOCH, ZoneOffset.UTC));
    chain.add(current);
    for (int step = 0; step < MAX_CHAIN; step++) {
      Repository.Stored next = repository.read(RepositoryLayout.trustRoot(current.version() + 1),
          DocumentType.ROOT.maxBytes());
      if (next == null) {
        break;
      }
      current = TrustRoots.verifyNext(current, next.bytes());
      chain.add(current);
    }
    return chain;
  }

  /** Trust root versions read at most by {@link #chain}. */
  private static final int MAX_CHAIN = 1000;

  /**
   * Checks that {@code key} may sign for the release role of {@code root} alone.
   *
   * @throws ConfigurationException SIGNATURE_INVALID (not a release key), SIGNATURE_THRESHOLD (one key is
   *     not enough)
   */
  public static void requireReleaseKey(TrustRoot root, SigningKey key, String location) {
    RoleKeys release = root.role(Role.RELEASE);
    String keyId = key.keyId();
    if (!release.keyIds().contains(keyId)) {
      throw new ConfigurationException(ErrorCode.SIGNATURE_INVALID, "the signing key " + keyId + " is not a"
          + " release key of the trust root of " + location + " (release keys: " + release.keyIds()
          + "): point <keyFile> (or UPGRADE_SIGNING_KEY) at the repository's release key, or rotate the trust root"
          + " to name this key (see docs/maven-plugin.md, key management)");
    }
    if (release.threshold() > 1) {
      throw new ConfigurationException(ErrorCode.SIGNATURE_THRESHOLD, "the trust root of " + location
          + " requires " + release.threshold() + " release signatures; this plugin signs with one key");
    }
  }
}
