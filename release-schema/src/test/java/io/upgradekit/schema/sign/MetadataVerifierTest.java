package io.upgradekit.schema.sign;

import static io.upgradekit.schema.Fixtures.CLOCK;
import static io.upgradekit.schema.Fixtures.assertCode;
import static io.upgradekit.schema.Fixtures.NEXT_YEAR;
import static io.upgradekit.schema.Fixtures.NOW;
import static io.upgradekit.schema.Fixtures.manifest;
import static io.upgradekit.schema.Fixtures.pointer;
import static io.upgradekit.schema.Fixtures.root;
import static io.upgradekit.schema.Fixtures.signed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.RolloutState;
import io.upgradekit.schema.model.TrustRoot;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetadataVerifierTest {
  private static final SigningKey ROOT_KEY = SigningKey.generate();
  private static final SigningKey RELEASE_A = SigningKey.generate();
  private static final SigningKey RELEASE_B = SigningKey.generate();
  private static final SigningKey STRANGER = SigningKey.generate();

  private final TrustRoot singleKeyRoot = root(1, NEXT_YEAR, List.of(ROOT_KEY), 1, List.of(RELEASE_A), 1);
  private final MetadataVerifier verifier = new MetadataVerifier(singleKeyRoot, CLOCK);
  private final byte[] manifestBytes = signed(DocumentType.RELEASE, manifest("shop", "1.2.0", 7, NEXT_YEAR), RELEASE_A);
  private final ChannelPointer pointer = pointer("shop", "stable", "1.2.0", 10, NEXT_YEAR, manifestBytes);
  private final byte[] pointerBytes = signed(DocumentType.CHANNEL, pointer, RELEASE_A);

  @Test
  void acceptsAValidPointerAndTheManifestItNames() {
    ChannelPointer verified = verifier.verifyChannelPointer(pointerBytes, "shop", "stable", 10);
    ReleaseManifest release = verifier.verifyReleaseManifest(manifestBytes, verified);

    assertThat(verified).isEqualTo(pointer);
    assertThat(release.version()).isEqualTo("1.2.0");
    assertThat(release.payload().entries()).hasSize(4);
  }

  @Test
  void signatureInvalidWhenSignedByAnUnknownKey() {
    byte[] bytes = signed(DocumentType.CHANNEL, pointer, STRANGER);
    assertCode(() -> verifier.verifyChannelPointer(bytes, "shop", "stable", 0), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void signatureInvalidWhenThePayloadWasChangedAfterSigning() {
    String json = new String(pointerBytes, StandardCharsets.UTF_8);
    SignedEnvelope envelope = Json.read(pointerBytes, SignedEnvelope.class, "test");
    String tampered = new String(envelope.payloadBytes(), StandardCharsets.UTF_8).replace("1.2.0", "6.6.6");
    byte[] bytes = json.replace(envelope.payload(),
        Base64.getEncoder().encodeToString(tampered.getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8);

    assertCode(() -> verifier.verifyChannelPointer(bytes, "shop", "stable", 0), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void signatureInvalidWhenUnsigned() {
    byte[] bytes = Json.canonicalBytes(new SignedEnvelope(DocumentType.CHANNEL.payloadType(),
        Base64.getEncoder().encodeToString(Json.canonicalBytes(pointer)), List.of()));
    assertCode(() -> verifier.verifyChannelPointer(bytes, "shop", "stable", 0), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void signatureInvalidWhenARolloutKeySignsARelease() {
    SigningKey rolloutKey = SigningKey.generate();
    TrustRoot root = TrustRoot.of(1, NEXT_YEAR, java.util.Map.of(
            ROOT_KEY.keyId(), io.upgradekit.schema.model.PublicKeyEntry.ed25519(ROOT_KEY.publicKey().getEncoded()),
            RELEASE_A.keyId(), io.upgradekit.schema.model.PublicKeyEntry.ed25519(RELEASE_A.publicKey().getEncoded()),
            rolloutKey.keyId(), io.upgradekit.schema.model.PublicKeyEntry.ed25519(rolloutKey.publicKey().getEncoded())),
        java.util.Map.of(
            io.upgradekit.schema.model.Role.ROOT, new io.upgradekit.schema.model.RoleKeys(List.of(ROOT_KEY.keyId()), 1),
            io.upgradekit.schema.model.Role.RELEASE, new io.upgradekit.schema.model.RoleKeys(List.of(RELEASE_A.keyId()), 1),
            io.upgradekit.schema.model.Role.ROLLOUT, new io.upgradekit.schema.model.RoleKeys(List.of(rolloutKey.keyId()), 1)));
    byte[] bytes = signed(DocumentType.RELEASE, manifest("shop", "9.9.9", 8, NEXT_YEAR), rolloutKey);

    assertCode(() -> new MetadataVerifier(root, CLOCK).verifyReleaseManifest(bytes, "shop", "9.9.9", null),
        ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void aSignatureForOneDocumentTypeDoesNotVerifyAsAnother() {
    // Re-label a signed release envelope as a channel pointer: the signature covered the type.
    SignedEnvelope release = Json.read(manifestBytes, SignedEnvelope.class, "test");
    byte[] relabelled = Json.canonicalBytes(
        new SignedEnvelope(DocumentType.CHANNEL.payloadType(), release.payload(), release.signatures()));

    assertCode(() -> verifier.verifyChannelPointer(relabelled, "shop", "stable", 0), ErrorCode.SIGNATURE_INVALID);
    assertCode(() -> verifier.verifyChannelPointer(manifestBytes, "shop", "stable", 0), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void thresholdNotMetWithOneOfTwoKeys() {
    TrustRoot twoOfTwo = root(1, NEXT_YEAR, List.of(ROOT_KEY), 1, List.of(RELEASE_A, RELEASE_B), 2);
    MetadataVerifier strict = new MetadataVerifier(twoOfTwo, CLOCK);

    assertCode(() -> strict.verifyChannelPointer(pointerBytes, "shop", "stable", 0), ErrorCode.SIGNATURE_THRESHOLD);
    byte[] both = signed(DocumentType.CHANNEL, pointer, RELEASE_A, RELEASE_B);
    assertThat(strict.verifyChannelPointer(both, "shop", "stable", 0)).isEqualTo(pointer);
  }

  @Test
  void duplicateSignaturesByOneKeyCountOnce() {
    TrustRoot twoOfTwo = root(1, NEXT_YEAR, List.of(ROOT_KEY), 1, List.of(RELEASE_A, RELEASE_B), 2);
    byte[] twiceByA = signed(DocumentType.CHANNEL, pointer, RELEASE_A, RELEASE_A);

    assertCode(() -> new MetadataVerifier(twoOfTwo, CLOCK).verifyChannelPointer(twiceByA, "shop", "stable", 0),
        ErrorCode.SIGNATURE_THRESHOLD);
  }

  @Test
  void expiredPointerRefused() {
    ChannelPointer stale = pointer("shop", "stable", "1.2.0", 10, NOW.minusSeconds(1), manifestBytes);
    byte[] bytes = signed(DocumentType.CHANNEL, stale, RELEASE_A);
    assertCode(() -> verifier.verifyChannelPointer(bytes, "shop", "stable", 0), ErrorCode.METADATA_EXPIRED);
  }

  @Test
  void expiredManifestRefused() {
    byte[] bytes = signed(DocumentType.RELEASE, manifest("shop", "1.2.0", 7, NOW), RELEASE_A);
    assertCode(() -> verifier.verifyReleaseManifest(bytes, "shop", "1.2.0", null), ErrorCode.METADATA_EXPIRED);
  }

  @Test
  void olderPointerThanTheLastTrustedIsRefused() {
    assertCode(() -> verifier.verifyChannelPointer(pointerBytes, "shop", "stable", 11), ErrorCode.ROLLBACK_REFUSED);
  }

  @Test
  void manifestWhoseHashDiffersFromThePointerIsRefused() {
    byte[] other = signed(DocumentType.RELEASE, manifest("shop", "1.2.0", 8, NEXT_YEAR), RELEASE_A);
    assertCode(() -> verifier.verifyReleaseManifest(other, pointer), ErrorCode.METADATA_INCONSISTENT);
  }

  @Test
  void manifestForAnotherVersionThanThePointerSaysIsRefused() {
    byte[] otherVersion = signed(DocumentType.RELEASE, manifest("shop", "1.1.0", 6, NEXT_YEAR), RELEASE_A);
    ChannelPointer mixed = pointer("shop", "stable", "1.2.0", 10, NEXT_YEAR, otherVersion);
    assertCode(() -> verifier.verifyReleaseManifest(otherVersion, mixed), ErrorCode.METADATA_INCONSISTENT);
  }

  @Test
  void malformedPayloadIsRefusedAfterTheSignatureChecks() {
    byte[] duplicateKeys = "{\"type\":\"channel\",\"app\":\"shop\",\"app\":\"evil\"}".getBytes(StandardCharsets.UTF_8);
    byte[] bytes = signRaw(DocumentType.CHANNEL, duplicateKeys, RELEASE_A);
    assertCode(() -> verifier.verifyChannelPointer(bytes, "shop", "stable", 0), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void wrongTypesAreMalformed() {
    String json = new String(Json.canonicalBytes(pointer), StandardCharsets.UTF_8)
        .replace("\"sequence\":10", "\"sequence\":\"10\"");
    byte[] bytes = signRaw(DocumentType.CHANNEL, json.getBytes(StandardCharsets.UTF_8), RELEASE_A);
    assertCode(() -> verifier.verifyChannelPointer(bytes, "shop", "stable", 0), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void envelopeThatIsNotJsonIsMalformed() {
    assertCode(() -> verifier.verifyChannelPointer("not json".getBytes(StandardCharsets.UTF_8), "shop", "stable", 0),
        ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void oversizedPointerIsRefusedBeforeParsing() {
    byte[] huge = new byte[DocumentType.CHANNEL.maxBytes() + 1]; // not even JSON: must not be parsed
    assertCode(() -> verifier.verifyChannelPointer(huge, "shop", "stable", 0), ErrorCode.METADATA_TOO_LARGE);
  }

  @Test
  void pointerForAnotherAppOrChannelIsWrongTarget() {
    assertCode(() -> verifier.verifyChannelPointer(pointerBytes, "other", "stable", 0), ErrorCode.WRONG_TARGET);
    assertCode(() -> verifier.verifyChannelPointer(pointerBytes, "shop", "beta", 0), ErrorCode.WRONG_TARGET);
  }

  @Test
  void manifestForAnotherAppIsWrongTarget() {
    assertCode(() -> verifier.verifyReleaseManifest(manifestBytes, "other", "1.2.0", null), ErrorCode.WRONG_TARGET);
  }

  @Test
  void rolloutStateIsCheckedForTargetExpiryAndSequence() {
    RolloutState state = new RolloutState("rollout", "shop", "1.2.0", 4, NOW.plusSeconds(300),
        RolloutState.Action.PROCEED, 1, null);
    byte[] bytes = signed(DocumentType.ROLLOUT, state, RELEASE_A);

    assertThat(verifier.verifyRolloutState(bytes, "shop", "1.2.0", 4)).isEqualTo(state);
    assertCode(() -> verifier.verifyRolloutState(bytes, "shop", "1.2.0", 5), ErrorCode.ROLLBACK_REFUSED);
    assertCode(() -> verifier.verifyRolloutState(bytes, "shop", "1.3.0", 0), ErrorCode.WRONG_TARGET);
    MetadataVerifier later = new MetadataVerifier(singleKeyRoot,
        java.time.Clock.fixed(NOW.plusSeconds(301), java.time.ZoneOffset.UTC));
    assertCode(() -> later.verifyRolloutState(bytes, "shop", "1.2.0", 0), ErrorCode.METADATA_EXPIRED);
  }

  @Test
  void aSetStateIsCheckedForItsRoleTargetExpiryAndSequence() {
    io.upgradekit.schema.model.SetState state = new io.upgradekit.schema.model.SetState("set-state", "shop", "7", 4,
        NOW.plusSeconds(120), io.upgradekit.schema.model.SetState.Status.RUNNING, false,
        List.of(new io.upgradekit.schema.model.SetState.Component("db", "2",
            io.upgradekit.schema.model.SetState.ComponentStatus.ROLLING, null)), List.of(), null);
    byte[] bytes = signed(DocumentType.SET_STATE, state, RELEASE_A);

    assertThat(verifier.verifySetState(bytes, "shop", "7", 4)).isEqualTo(state);
    assertCode(() -> verifier.verifySetState(bytes, "shop", "7", 5), ErrorCode.ROLLBACK_REFUSED);
    assertCode(() -> verifier.verifySetState(bytes, "shop", "8", 0), ErrorCode.WRONG_TARGET);
    assertCode(() -> verifier.verifySetState(bytes, "other", "7", 0), ErrorCode.WRONG_TARGET);
    assertCode(() -> verifier.verifySetState(signed(DocumentType.SET_STATE, state, STRANGER), "shop", "7", 0),
        ErrorCode.SIGNATURE_INVALID);
    MetadataVerifier later = new MetadataVerifier(singleKeyRoot,
        java.time.Clock.fixed(NOW.plusSeconds(121), java.time.ZoneOffset.UTC));
    assertCode(() -> later.verifySetState(bytes, "shop", "7", 0), ErrorCode.METADATA_EXPIRED);
    // a rollout state is not a set state, even signed by the right key
    byte[] rollout = signed(DocumentType.ROLLOUT, new RolloutState("rollout", "shop", "7", 4, NOW.plusSeconds(120),
        RolloutState.Action.PROCEED, 1, null), RELEASE_A);
    assertCode(() -> verifier.verifySetState(rollout, "shop", "7", 0), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void aReleaseSetIsCheckedForItsRoleNameVersionAndExpiry() {
    io.upgradekit.schema.model.ReleaseSet set = io.upgradekit.schema.model.ReleaseSet.of("shop", "7", 3, NOW,
        NOW.plusSeconds(600), List.of(new io.upgradekit.schema.model.ReleaseSet.Component("db", "2", null),
            new io.upgradekit.schema.model.ReleaseSet.Component("api", "2", List.of("db"))),
        io.upgradekit.schema.model.ReleaseSet.Strategy.ROLLING, io.upgradekit.schema.model.ReleaseSet.Rollback.AUTO,
        null);
    byte[] bytes = signed(DocumentType.RELEASE_SET, set, RELEASE_A);

    assertThat(verifier.verifyReleaseSet(bytes, "shop", "7")).isEqualTo(set);
    assertCode(() -> verifier.verifyReleaseSet(bytes, "other", "7"), ErrorCode.WRONG_TARGET);
    assertCode(() -> verifier.verifyReleaseSet(bytes, "shop", "8"), ErrorCode.METADATA_INCONSISTENT);
    assertCode(() -> verifier.verifyReleaseSet(signed(DocumentType.RELEASE_SET, set, STRANGER), "shop", "7"),
        ErrorCode.SIGNATURE_INVALID);
    MetadataVerifier later = new MetadataVerifier(singleKeyRoot,
        java.time.Clock.fixed(NOW.plusSeconds(601), java.time.ZoneOffset.UTC));
    assertCode(() -> later.verifyReleaseSet(bytes, "shop", "7"), ErrorCode.METADATA_EXPIRED);
    // A release manifest's signature does not pass as a set's (domain separation).
    assertCode(() -> verifier.verifyReleaseSet(manifestBytes, "shop", "7"), ErrorCode.METADATA_MALFORMED);
  }

  @Test
  void aLeaseGrantIsCheckedForItsNodeReleaseAndExpiry() {
    io.upgradekit.schema.model.LeaseGrant grant = io.upgradekit.schema.model.LeaseGrant.of("shop", "1.2.0", "web-01",
        io.upgradekit.schema.model.LeaseGrant.Kind.UPGRADE, 1, 0, 3, NOW, NOW.plusSeconds(60));
    byte[] bytes = signed(DocumentType.LEASE, grant, RELEASE_A);

    assertThat(verifier.verifyLeaseGrant(bytes, "shop", "1.2.0", "web-01")).isEqualTo(grant);
    assertCode(() -> verifier.verifyLeaseGrant(bytes, "shop", "1.2.0", "web-02"), ErrorCode.WRONG_TARGET);
    assertCode(() -> verifier.verifyLeaseGrant(bytes, "shop", "1.3.0", "web-01"), ErrorCode.WRONG_TARGET);
    MetadataVerifier later = new MetadataVerifier(singleKeyRoot,
        java.time.Clock.fixed(NOW.plusSeconds(61), java.time.ZoneOffset.UTC));
    assertCode(() -> later.verifyLeaseGrant(bytes, "shop", "1.2.0", "web-01"), ErrorCode.METADATA_EXPIRED);
    // A rollout state's signature does not pass as a lease's (domain separation).
    RolloutState state = new RolloutState("rollout", "shop", "1.2.0", 4, NOW.plusSeconds(300),
        RolloutState.Action.PROCEED, 1, null);
    byte[] stateBytes = signed(DocumentType.ROLLOUT, state, RELEASE_A);
    assertThatThrownBy(() -> verifier.verifyLeaseGrant(stateBytes, "shop", "1.2.0", "web-01"))
        .isInstanceOf(io.upgradekit.schema.UpgradeException.class);
  }

  static byte[] signRaw(DocumentType type, byte[] payload, SigningKey key) {
    String sig = Base64.getEncoder().encodeToString(key.sign(Envelopes.pae(type.payloadType(), payload)));
    return Json.canonicalBytes(new SignedEnvelope(type.payloadType(), Base64.getEncoder().encodeToString(payload),
        List.of(new EnvelopeSignature(key.keyId(), sig))));
  }

  @Test
  void aSignerRefusesADocumentOverItsTypesCapWhichEveryReaderWouldRefuse() {
    java.util.List<io.upgradekit.schema.model.TreeEntry> files = new java.util.ArrayList<>();
    for (int i = 0; i < 12_000; i++) { // about 200 bytes each: over the 2 MiB release cap
      files.add(io.upgradekit.schema.model.TreeEntry.file("lib/module-" + i + "/component-" + i + ".jar", i,
          io.upgradekit.schema.Hashes.sha256(new byte[] {(byte) i}), false));
    }
    var tree = new io.upgradekit.schema.model.PayloadTree(files);
    ReleaseManifest big = ReleaseManifest.of("shop", "1.2.0", 7, NOW, NEXT_YEAR, tree,
        new io.upgradekit.schema.model.BlobRef(io.upgradekit.schema.Hashes.sha256(new byte[] {3}), 4242), List.of(),
        null, null);

    assertCode(() -> Envelopes.sign(DocumentType.RELEASE, big, List.of(RELEASE_A)), ErrorCode.METADATA_TOO_LARGE);
    assertThat(org.assertj.core.api.Assertions.catchThrowable(
        () -> Envelopes.sign(DocumentType.RELEASE, big, List.of(RELEASE_A))))
        .hasMessageContaining("more than the " + DocumentType.RELEASE.maxBytes() + "-byte limit")
        .hasMessageContaining("bytes per file");
  }
}
