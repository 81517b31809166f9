package io.upgradekit.schema;

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
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Documents and keys for tests, at a fixed clock. */
public final class Fixtures {
  public static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
  public static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  public static final Instant NEXT_YEAR = NOW.plusSeconds(365L * 24 * 3600);

  private Fixtures() {}

  /** A root giving {@code rootKeys} the root role and {@code releaseKeys} the release and rollout roles. */
  public static TrustRoot root(long version, Instant expires, List<SigningKey> rootKeys, int rootThreshold,
      List<SigningKey> releaseKeys, int releaseThreshold) {
    Map<String, PublicKeyEntry> keys = new LinkedHashMap<>();
    for (SigningKey key : rootKeys) {
      keys.put(key.keyId(), PublicKeyEntry.ed25519(key.publicKey().getEncoded()));
    }
    for (SigningKey key : releaseKeys) {
      keys.put(key.keyId(), PublicKeyEntry.ed25519(key.publicKey().getEncoded()));
    }
    List<String> rootIds = rootKeys.stream().map(SigningKey::keyId).toList();
    List<String> releaseIds = releaseKeys.stream().map(SigningKey::keyId).toList();
    return TrustRoot.of(version, expires, keys, Map.of(
        Role.ROOT, new RoleKeys(rootIds, rootThreshold),
        Role.RELEASE, new RoleKeys(releaseIds, releaseThreshold),
        Role.ROLLOUT, new RoleKeys(releaseIds, 1)));
  }

  public static PayloadTree tree() {
    return new PayloadTree(List.of(
        TreeEntry.file("bin/app", 12, Hashes.sha256(new byte[] {1}), true),
        TreeEntry.file("lib/app.jar", 1000, Hashes.sha256(new byte[] {2}), false),
        TreeEntry.symlink("lib/current.jar", "app.jar"),
        TreeEntry.directory("logs")));
  }

  public static ReleaseManifest manifest(String app, String version, long sequence, Instant expires) {
    return ReleaseManifest.of(app, version, sequence, NOW.minusSeconds(60), expires, tree(),
        new BlobRef(Hashes.sha256(new byte[] {3}), 4242), List.of(), null, null);
  }

  public static byte[] signed(DocumentType type, Object document, SigningKey... keys) {
    return Envelopes.sign(type, document, List.of(keys));
  }

  public static ChannelPointer pointer(String app, String channel, String version, long sequence, Instant expires,
      byte[] manifestBytes) {
    return ChannelPointer.of(app, channel, version, sequence, expires,
        new BlobRef(Hashes.sha256(manifestBytes), manifestBytes.length), null);
  }

  /** Asserts that the call throws an {@link UpgradeException} with exactly this code. */
  public static void assertCode(ThrowingCallable call, ErrorCode code) {
    assertThatThrownBy(call).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).as(e.getMessage()).isEqualTo(code));
  }
}
