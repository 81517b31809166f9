package io.upgradekit.server.fleet;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.server.core.Secrets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The rollout role's key, held by repo-server ({@code --rollout-key-file}): it signs the rollout
 * state and the lease grants that nodes obey. The file is the one {@code mvn upgrade:keygen} writes
 * (both PEM blocks), readable by the server's user only, and its public key must be a key of the
 * trust root's {@code rollout} role, whose threshold one key must meet: a server whose signatures
 * no node would accept refuses to start rather than pause every rollout.
 */
public final class RolloutKey {
  private static final long MAX_FILE_BYTES = 64 * 1024;

  private final SigningKey key;

  private RolloutKey(SigningKey key) {
    this.key = key;
  }

  /** A key already in memory (tests, embedders). */
  public static RolloutKey of(SigningKey key) {
    return new RolloutKey(Objects.requireNonNull(key, "key"));
  }

  /**
   * Reads and checks the key file.
   *
   * @param root the repository's trust root, or null if it has none
   * @throws UpgradeException CONFIG_INVALID saying what to fix
   */
  public static RolloutKey load(Path file, TrustRoot root) {
    String option = "--rollout-key-file";
    String text;
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " is too large to be a key file");
      }
      Secrets.requireOwnerOnly(file, option);
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " does not exist: create the rollout"
          + " key with 'mvn upgrade:keygen' and name its public key in the trust root's rollout role", e);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " cannot be read: " + e.getMessage(), e);
    }
    SigningKey key;
    try {
      key = SigningKey.fromPem(text);
    } catch (UpgradeException e) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, option + " " + file + " is not a signing key file ("
          + e.getMessage() + "); give the private key file (both PEM blocks), not the .pub file", e);
    }
    RolloutKey rolloutKey = new RolloutKey(key);
    rolloutKey.requireTrusted(root, option + " " + file);
    return rolloutKey;
  }

  /**
   * Checks that {@code root} lets this key sign rollout documents alone.
   *
   * @throws UpgradeException CONFIG_INVALID if not
   */
  public void requireTrusted(TrustRoot root, String what) {
    if (root == null) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "the repository has no trust root, so no node would"
          + " accept what " + what + " signs: publish the trust root first (--trust-root FILE)");
    }
    RoleKeys rollout = root.role(Role.ROLLOUT);
    if (rollout == null || !rollout.keyIds().contains(key.keyId())) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, what + " holds key " + key.keyId() + ", which the trust"
          + " root (version " + root.version() + ") does not name for the rollout role: rotate the trust root to"
          + " list this key under 'rollout', or give the rollout key it names");
    }
    if (rollout.threshold() > 1) {
      throw new UpgradeException(ErrorCode.CONFIG_INVALID, "the trust root (version " + root.version() + ") wants "
          + rollout.threshold() + " rollout signatures, but repo-server holds one rollout key: set the rollout"
          + " role's threshold to 1");
    }
  }

  /** Whether {@code root} names this key for the rollout role. */
  public boolean trustedBy(TrustRoot root) {
    RoleKeys rollout = root == null ? null : root.role(Role.ROLLOUT);
    return rollout != null && rollout.keyIds().contains(key.keyId()) && rollout.threshold() <= 1;
  }

  public String keyId() {
    return key.keyId();
  }

  /** The signed envelope of a rollout document (a state or a lease). */
  public byte[] sign(DocumentType type, Object document) {
    return Envelopes.sign(type, document, List.of(key));
  }

  @Override
  public String toString() {
    return "RolloutKey[" + key.keyId() + "]";
  }
}
