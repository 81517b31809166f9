package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.model.Role;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.Ed25519;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyGeneratorTest {
  @TempDir Path dir;
  final List<Event> events = new ArrayList<>();

  private KeyGenerator.Result generate(Path keyFile, Path repository) {
    return new KeyGenerator(Fixture.CLOCK, events::add).generate(new KeyGenerator.Request(keyFile, repository, null,
        KeyGenerator.DEFAULT_ROOT_LIFETIME));
  }

  @Test
  void writesAPrivateKeyFileOnlyTheOwnerCanReadAndThePublicKeyBesideIt() throws IOException {
    Path keyFile = dir.resolve("keys/release.pem");
    KeyGenerator.Result result = generate(keyFile, null);

    SigningKey key = SigningKey.fromPem(Files.readString(keyFile));
    assertThat(key.keyId()).isEqualTo(result.keyId());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile))).isEqualTo("rw-------");
    assertThat(Ed25519.keyId(Ed25519.readPublicKey(Files.readString(dir.resolve("keys/release.pem.pub")))))
        .isEqualTo(result.keyId());
    assertThat(Files.readString(dir.resolve("keys/release.pem.pub"))).doesNotContain("PRIVATE");
    assertThat(result.trustRootCreated()).isFalse();
    assertThat(events).anySatisfy(e -> assertThat(e.toString()).contains(result.keyId()));
  }

  @Test
  void neverOverwritesAKey() throws IOException {
    Path keyFile = dir.resolve("release.pem");
    generate(keyFile, null);
    String before = Files.readString(keyFile);

    assertThatThrownBy(() -> generate(keyFile, null)).isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("already exists").hasMessageContaining("<keyFile>");
    assertThat(Files.readString(keyFile)).isEqualTo(before);
  }

  @Test
  void refusesWhenOnlyThePublicHalfExists() throws IOException {
    Path keyFile = dir.resolve("release.pem");
    Files.writeString(dir.resolve("release.pem.pub"), "kept");

    assertThatThrownBy(() -> generate(keyFile, null)).isInstanceOf(ConfigurationException.class);
    assertThat(keyFile).doesNotExist();
    assertThat(Files.readString(dir.resolve("release.pem.pub"))).isEqualTo("kept");
  }

  @Test
  void givesANewRepositoryATrustRootNamingTheKeyForEveryRole() throws IOException {
    Path repository = dir.resolve("repo");
    KeyGenerator.Result result = generate(dir.resolve("release.pem"), repository);

    assertThat(result.trustRootCreated()).isTrue();
    TrustRoot root = TrustRoots.readPinned(Files.readAllBytes(repository.resolve("roots/1.root.json")), Fixture.CLOCK);
    for (Role role : Role.values()) {
      assertThat(root.role(role).keyIds()).containsExactly(result.keyId());
    }
    assertThat(Files.readAllBytes(repository.resolve("root.json")))
        .isEqualTo(Files.readAllBytes(repository.resolve("roots/1.root.json")));
  }

  @Test
  void leavesAnExistingTrustRootAlone() throws IOException {
    Path repository = dir.resolve("repo");
    generate(dir.resolve("first.pem"), repository);
    byte[] before = Files.readAllBytes(repository.resolve("root.json"));

    KeyGenerator.Result second = generate(dir.resolve("second.pem"), repository);

    assertThat(second.trustRootCreated()).isFalse();
    assertThat(Files.readAllBytes(repository.resolve("root.json"))).isEqualTo(before);
    assertThat(events).anySatisfy(e -> assertThat(e).isInstanceOf(Event.Warning.class));
  }

  private KeyGenerator.Result generate(Path keyFile, Path repository, SigningKey rootKey) {
    return new KeyGenerator(Fixture.CLOCK, events::add).generate(new KeyGenerator.Request(keyFile, repository, rootKey,
        KeyGenerator.DEFAULT_ROOT_LIFETIME));
  }

  private static SigningKey read(Path keyFile) throws IOException {
    return SigningKey.fromPem(Files.readString(keyFile));
  }

  @Test
  void withARootKeyANewRepositoryKeepsTheRootRoleApartFromTheReleaseKey() throws IOException {
    generate(dir.resolve("root.pem"), null);
    SigningKey rootKey = read(dir.resolve("root.pem"));
    Path repository = dir.resolve("repo");

    KeyGenerator.Result ci = generate(dir.resolve("ci.pem"), repository, rootKey);

    TrustRoot root = TrustRoots.readPinned(Files.readAllBytes(repository.resolve("roots/1.root.json")), Fixture.CLOCK);
    assertThat(root.role(Role.ROOT).keyIds()).containsExactly(rootKey.keyId());
    assertThat(root.role(Role.RELEASE).keyIds()).containsExactly(ci.keyId());
    assertThat(root.role(Role.ROLLOUT).keyIds()).containsExactly(ci.keyId());
  }

  @Test
  void withTheRootKeyAnExistingRepositoryGetsTheNextTrustRootThatNodesAccept() throws IOException {
    Path repository = dir.resolve("repo");
    generate(dir.resolve("root.pem"), repository); // started simple: one key holds every role
    SigningKey rootKey = read(dir.resolve("root.pem"));
    TrustRoot first = TrustRoots.readPinned(Files.readAllBytes(repository.resolve("roots/1.root.json")), Fixture.CLOCK);

    KeyGenerator.Result ci = generate(dir.resolve("ci.pem"), repository, rootKey);

    assertThat(ci.trustRootVersion()).isEqualTo(2);
    TrustRoot second = TrustRoots.verifyNext(first, Files.readAllBytes(repository.resolve("roots/2.root.json")));
    assertThat(second.role(Role.RELEASE).keyIds()).containsExactly(ci.keyId(), rootKey.keyId());
    assertThat(second.role(Role.ROOT).keyIds()).containsExactly(rootKey.keyId());
    assertThat(Files.readAllBytes(repository.resolve("root.json")))
        .isEqualTo(Files.readAllBytes(repository.resolve("roots/2.root.json")));
  }

  @Test
  void aKeyThatIsNotTheRootKeyCannotRotate() throws IOException {
    Path repository = dir.resolve("repo");
    generate(dir.resolve("root.pem"), repository);
    byte[] before = Files.readAllBytes(repository.resolve("root.json"));

    assertThatThrownBy(() -> generate(dir.resolve("ci.pem"), repository, SigningKey.generate()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("<rootKeyFile>");
    assertThat(Files.readAllBytes(repository.resolve("root.json"))).isEqualTo(before);
    assertThat(repository.resolve("roots/2.root.json")).doesNotExist();
  }

  @Test
  void aRepositoryWhoseTrustRootExpiredIsRepairedByTheNextVersionWhichNodesAccept() throws IOException {
    Path repository = dir.resolve("repo");
    generate(dir.resolve("root.pem"), repository); // version 1 lives 365 days from Fixture.NOW
    SigningKey rootKey = read(dir.resolve("root.pem"));
    java.time.Clock afterExpiry = java.time.Clock.fixed(Fixture.NOW.plus(java.time.Duration.ofDays(400)),
        java.time.ZoneOffset.UTC);

    KeyGenerator.Result next = new KeyGenerator(afterExpiry, events::add).generate(new KeyGenerator.Request(
        dir.resolve("ci.pem"), repository, rootKey, KeyGenerator.DEFAULT_ROOT_LIFETIME));

    assertThat(next.trustRootVersion()).isEqualTo(2);
    // A node pinned to version 1 walks to 2 and trusts it, although 1 expired.
    TrustRoot pinned = TrustRoots.readPinned(Files.readAllBytes(repository.resolve("roots/1.root.json")), Fixture.CLOCK);
    TrustRoot walked = TrustRoots.update(pinned, v -> v == 2 ? Files.readAllBytes(repository.resolve("roots/2.root.json"))
        : null, afterExpiry);
    assertThat(walked.version()).isEqualTo(2);
    assertThat(walked.expires()).isAfter(afterExpiry.instant());
  }

  @Test
  void aLeakedCiKeyIsRevokedInTheRotationThatAddsItsSuccessor() throws IOException {
    Path repository = dir.resolve("repo");
    generate(dir.resolve("root.pem"), null); // the offline root key
    SigningKey rootKey = read(dir.resolve("root.pem"));
    KeyGenerator.Result leaked = generate(dir.resolve("ci.pem"), repository, rootKey); // release + rollout
    TrustRoot first = TrustRoots.readPinned(Files.readAllBytes(repository.resolve("roots/1.root.json")), Fixture.CLOCK);
    byte[] signedByLeaked = io.upgradekit.schema.sign.Envelopes.sign(io.upgradekit.schema.model.DocumentType.CHANNEL,
        io.upgradekit.schema.model.ChannelPointer.of("demo", "stable", "1.0.0", 9, Fixture.NOW.plusSeconds(3600),
            new io.upgradekit.schema.model.BlobRef("ab".repeat(32), 10), null), List.of(read(dir.resolve("ci.pem"))));

    KeyGenerator.Result next = new KeyGenerator(Fixture.CLOCK, events::add).generate(new KeyGenerator.Request(
        dir.resolve("ci-2.pem"), repository.toString(), rootKey, KeyGenerator.DEFAULT_ROOT_LIFETIME,
        List.of(leaked.keyId())));

    TrustRoot second = TrustRoots.verifyNext(first, Files.readAllBytes(repository.resolve("roots/2.root.json")));
    assertThat(second.role(Role.RELEASE).keyIds()).containsExactly(next.keyId());
    assertThat(second.role(Role.ROLLOUT).keyIds()).as("the new key takes the revoked rollout key's place")
        .containsExactly(next.keyId());
    assertThat(second.keys()).doesNotContainKey(leaked.keyId());
    assertThatThrownBy(() -> new io.upgradekit.schema.sign.MetadataVerifier(second, Fixture.CLOCK)
        .verifyChannelPointer(signedByLeaked, "demo", "stable", 0))
        .isInstanceOf(io.upgradekit.schema.UpgradeException.class).hasMessageContaining("no valid signature");
    assertThat(events).anySatisfy(e -> assertThat(e.toString()).contains("revoked: [" + leaked.keyId() + "]"));
  }

  @Test
  void aRootKeyOrAnUnknownKeyIsNotRevokedAndNoKeyFileIsLeftBehind() throws IOException {
    Path repository = dir.resolve("repo");
    generate(dir.resolve("root.pem"), repository); // one key holds every role
    SigningKey rootKey = read(dir.resolve("root.pem"));

    for (String id : List.of(rootKey.keyId(), "cd".repeat(32))) {
      assertThatThrownBy(() -> new KeyGenerator(Fixture.CLOCK, events::add).generate(new KeyGenerator.Request(
          dir.resolve("ci.pem"), repository.toString(), rootKey, KeyGenerator.DEFAULT_ROOT_LIFETIME, List.of(id))))
          .isInstanceOf(ConfigurationException.class).hasMessageContaining("<revokeKeys> " + id);
      assertThat(dir.resolve("ci.pem")).doesNotExist();
    }
    assertThat(repository.resolve("roots/2.root.json")).doesNotExist();
  }
}
