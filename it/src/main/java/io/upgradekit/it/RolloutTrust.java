package io.upgradekit.it;

import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.store.DirectoryStore;
import io.upgradekit.schema.store.TrustRootPublisher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A new directory repository's first trust root with a rollout key of its own: the release key
 * holds the root and release roles, a second key the rollout role (the key repo-server holds with
 * {@code --rollout-key-file}). {@code mvn upgrade:keygen} names one key for all three roles; a
 * separate rollout key shows that nodes obey what the <em>rollout</em> role signs, and that the
 * server never holds a key that could sign a release.
 */
public final class RolloutTrust {
  private RolloutTrust() {}

  /**
   * Writes both keys (PEM, mode 0600, as keygen writes them) and the trust root ({@code
   * roots/1.root.json} and {@code root.json}) into {@code repository}.
   */
  public static void create(Path repository, Path releaseKeyFile, Path rolloutKeyFile) {
    SigningKey release = SigningKey.generate();
    SigningKey rollout = SigningKey.generate();
    try {
      writeKey(releaseKeyFile, release);
      writeKey(rolloutKeyFile, rollout);
      Files.createDirectories(repository);
      Map<String, PublicKeyEntry> keys = Map.of(
          release.keyId(), PublicKeyEntry.ed25519(release.publicKey().getEncoded()),
          rollout.keyId(), PublicKeyEntry.ed25519(rollout.publicKey().getEncoded()));
      Map<Role, RoleKeys> roles = new EnumMap<>(Role.class);
      roles.put(Role.ROOT, new RoleKeys(List.of(release.keyId()), 1));
      roles.put(Role.RELEASE, new RoleKeys(List.of(release.keyId()), 1));
      roles.put(Role.ROLLOUT, new RoleKeys(List.of(rollout.keyId()), 1));
      TrustRoot root = TrustRoot.of(1, Clock.systemUTC().instant().plus(Duration.ofDays(30)), keys, roles);
      byte[] envelope = Envelopes.sign(DocumentType.ROOT, root, List.of(release));
      try (DirectoryStore store = new DirectoryStore(repository)) {
        if (new TrustRootPublisher(store, Clock.systemUTC()).install(envelope) != TrustRootPublisher.Outcome.CREATED) {
          throw new HarnessException(repository + " has a trust root already");
        }
      }
    } catch (IOException e) {
      throw new HarnessException("cannot create the keys and trust root in " + repository + ": " + e, e);
    }
  }

  private static void writeKey(Path file, SigningKey key) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, key.toPem(), StandardCharsets.US_ASCII);
  }
}
