package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.MetadataVerifier;
import io.upgradekit.schema.sign.SigningKey;
import io.upgradekit.schema.sign.TrustRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a leaked release key is revoked, the next release with the new key replaces the channel's
 * pointer (which only the revoked key signed), keeps its history and builds its delta; nodes
 * trust the new pointer and refuse the old one.
 */
class RevokedKeyReleaseTest {
  @TempDir Path dir;
  final List<Event> events = new java.util.concurrent.CopyOnWriteArrayList<>();

  @Test
  void theFirstReleaseWithTheNewKeyReplacesWhatTheRevokedKeySigned() throws IOException {
    Path repository = dir.resolve("repo");
    KeyGenerator keygen = new KeyGenerator(Fixture.CLOCK, events::add);
    keygen.generate(new KeyGenerator.Request(dir.resolve("root.pem"), (Path) null, null, KeyGenerator.DEFAULT_ROOT_LIFETIME));
    SigningKey rootKey = SigningKey.fromPem(Files.readString(dir.resolve("root.pem")));
    KeyGenerator.Result leaked = keygen.generate(new KeyGenerator.Request(dir.resolve("ci.pem"), repository, rootKey,
        KeyGenerator.DEFAULT_ROOT_LIFETIME));
    ReleaseResult first = release("1.0.0", SigningKey.fromPem(Files.readString(dir.resolve("ci.pem"))), repository);
    byte[] oldPointer = Files.readAllBytes(repository.resolve(RepositoryLayout.channelPointer("demo", "stable")));
    keygen.generate(new KeyGenerator.Request(dir.resolve("ci-2.pem"), repository.toString(), rootKey,
        KeyGenerator.DEFAULT_ROOT_LIFETIME, List.of(leaked.keyId())));
    SigningKey fresh = SigningKey.fromPem(Files.readString(dir.resolve("ci-2.pem")));

    ReleaseResult second = release("1.1.0", fresh, repository);

    assertThat(second.status()).isEqualTo(ReleaseResult.Status.PUBLISHED);
    assertThat(second.pointerSequence()).isEqualTo(first.pointerSequence() + 1);
    assertThat(second.deltas()).extracting(ReleaseResult.Delta::fromVersion).containsExactly("1.0.0");
    assertThat(events).anySatisfy(e -> assertThat(e.toString()).contains("channel stable's pointer is signed by a key"
        + " that trust root version 2 no longer names (it verifies with version 1)"));
    TrustRoot current = TrustRoots.update(TrustRoots.readPinned(Files.readAllBytes(repository.resolve("roots/1.root.json")),
        Fixture.CLOCK), v -> Files.exists(repository.resolve("roots/" + v + ".root.json"))
            ? Files.readAllBytes(repository.resolve("roots/" + v + ".root.json")) : null, Fixture.CLOCK);
    MetadataVerifier node = new MetadataVerifier(current, Fixture.CLOCK);
    byte[] newPointer = Files.readAllBytes(repository.resolve(RepositoryLayout.channelPointer("demo", "stable")));
    assertThat(node.verifyChannelPointer(newPointer, "demo", "stable", 0).version()).isEqualTo("1.1.0");
    assertThatThrownBy(() -> node.verifyChannelPointer(oldPointer, "demo", "stable", 0))
        .isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.SIGNATURE_INVALID));
  }

  @Test
  void aPointerNoKeyOfTheChainSignedIsStillRefused() throws IOException {
    Fixture fixture = new Fixture(dir);
    fixture.release("1.0.0");
    SigningKey stranger = SigningKey.generate();
    byte[] forged = io.upgradekit.schema.sign.Envelopes.sign(io.upgradekit.schema.model.DocumentType.CHANNEL,
        io.upgradekit.schema.model.ChannelPointer.of("demo", "stable", "1.0.0", 7, Fixture.NOW.plusSeconds(3600),
            new io.upgradekit.schema.model.BlobRef("ab".repeat(32), 10), null), List.of(stranger));
    Files.write(fixture.repository.resolve(RepositoryLayout.channelPointer("demo", "stable")), forged);

    assertThatThrownBy(() -> fixture.release("1.1.0")).isInstanceOf(UpgradeException.class)
        .satisfies(e -> assertThat(((UpgradeException) e).code()).isEqualTo(ErrorCode.SIGNATURE_INVALID));
  }

  private ReleaseResult release(String version, SigningKey key, Path repository) throws IOException {
    Path payload = dir.resolve("payloads/" + version);
    Files.createDirectories(payload.resolve("lib"));
    Files.writeString(payload.resolve("lib/common.jar"), "common library bytes ".repeat(200));
    Files.writeString(payload.resolve("app.jar"), "application " + version + " ".repeat(500));
    return new ReleaseBuilder(new CopyingEngine(), (location, token) -> new DirectoryRepository(Path.of(location)),
        Fixture.CLOCK, events::add).release(new ReleaseRequest("demo", version, "stable", payload,
            repository.toString(), null, key, 3, Fixture.BUILT, ReleaseRequest.DEFAULT_MANIFEST_LIFETIME,
            ReleaseRequest.DEFAULT_POINTER_LIFETIME, Map.of(), dir.resolve("work-" + version),
            dir.resolve("release-" + version + ".json"), ReleaseRequest.DEFAULT_POINTER_ATTEMPTS));
  }
}
