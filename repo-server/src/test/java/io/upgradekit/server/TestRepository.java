package io.upgradekit.server;

import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.PublicKeyEntry;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.RoleKeys;
import io.upgradekit.schema.model.TreeEntry;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Envelopes;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Keys, a signed trust root and signed documents for tests. */
final class TestRepository {
  static final Instant EXPIRES = Instant.now().plus(1, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);

  final SigningKey rootKey = SigningKey.generate();
  final SigningKey releaseKey = SigningKey.generate();
  final TrustRoot root = root(1, rootKey, releaseKey);
  final byte[] rootBytes = Envelopes.sign(DocumentType.ROOT, root, List.of(rootKey));

  static TrustRoot root(long version, SigningKey rootKey, SigningKey releaseKey) {
    Map<String, PublicKeyEntry> keys = new LinkedHashMap<>();
    keys.put(rootKey.keyId(), PublicKeyEntry.ed25519(rootKey.publicKey().getEncoded()));
    keys.put(releaseKey.keyId(), PublicKeyEntry.ed25519(releaseKey.publicKey().getEncoded()));
    return TrustRoot.of(version, EXPIRES.plus(365, ChronoUnit.DAYS), keys, Map.of(
        Role.ROOT, new RoleKeys(List.of(rootKey.keyId()), 1),
        Role.RELEASE, new RoleKeys(List.of(releaseKey.keyId()), 1),
        Role.ROLLOUT, new RoleKeys(List.of(releaseKey.keyId()), 1)));
  }

  /** Writes root.json into {@code dir} (as the plugin's directory mode would). */
  void install(Path dir) throws IOException {
    Files.write(dir.resolve("root.json"), rootBytes);
  }

  static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** A manifest whose package is {@code packageBytes}, signed with {@code key}. */
  byte[] manifest(String app, String version, long sequence, byte[] packageBytes, SigningKey key) {
    String sha = Hashes.sha256(packageBytes);
    ReleaseManifest manifest = ReleaseManifest.of(app, version, sequence, Instant.now().truncatedTo(ChronoUnit.SECONDS),
        EXPIRES, new PayloadTree(List.of(TreeEntry.file("app.jar", packageBytes.length, sha, false))),
        new BlobRef(sha, packageBytes.length), List.of(), null, null);
    return Envelopes.sign(DocumentType.RELEASE, manifest, List.of(key));
  }

  byte[] manifest(String app, String version, long sequence, byte[] packageBytes) {
    return manifest(app, version, sequence, packageBytes, releaseKey);
  }

  byte[] pointer(String app, String channel, String version, long sequence, byte[] manifestBytes) {
    ChannelPointer pointer = ChannelPointer.of(app, channel, version, sequence, EXPIRES,
        new BlobRef(Hashes.sha256(manifestBytes), manifestBytes.length), null);
    return Envelopes.sign(DocumentType.CHANNEL, pointer, List.of(releaseKey));
  }
}
