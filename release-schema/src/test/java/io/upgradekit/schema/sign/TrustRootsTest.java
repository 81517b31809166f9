package io.upgradekit.schema.sign;

import static io.upgradekit.schema.Fixtures.CLOCK;
import static io.upgradekit.schema.Fixtures.NEXT_YEAR;
import static io.upgradekit.schema.Fixtures.NOW;
import static io.upgradekit.schema.Fixtures.root;
import static io.upgradekit.schema.Fixtures.signed;
import static io.upgradekit.schema.Fixtures.assertCode;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.TrustRoot;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrustRootsTest {
  private final SigningKey rootV1 = SigningKey.generate();
  private final SigningKey rootV2 = SigningKey.generate();
  private final SigningKey rootV3 = SigningKey.generate();
  private final SigningKey release = SigningKey.generate();

  private final TrustRoot v1 = root(1, NEXT_YEAR, List.of(rootV1), 1, List.of(release), 1);
  private final TrustRoot v2 = root(2, NEXT_YEAR, List.of(rootV2), 1, List.of(release), 1);
  private final TrustRoot v3 = root(3, NEXT_YEAR, List.of(rootV3), 1, List.of(release), 1);

  @Test
  void pinnedRootMustBeSelfSigned() {
    assertThat(TrustRoots.readPinned(signed(DocumentType.ROOT, v1, rootV1), CLOCK)).isEqualTo(v1);
    assertCode(() -> TrustRoots.readPinned(signed(DocumentType.ROOT, v1, release), CLOCK), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void expiredPinnedRootIsRefused() {
    TrustRoot expired = root(1, NOW.minusSeconds(5), List.of(rootV1), 1, List.of(release), 1);
    assertCode(() -> TrustRoots.readPinned(signed(DocumentType.ROOT, expired, rootV1), CLOCK),
        ErrorCode.METADATA_EXPIRED);
  }

  @Test
  void validChainIsWalkedToTheNewestRoot() throws Exception {
    Map<Long, byte[]> repository = new HashMap<>();
    repository.put(2L, signed(DocumentType.ROOT, v2, rootV1, rootV2));
    repository.put(3L, signed(DocumentType.ROOT, v3, rootV2, rootV3));

    TrustRoot newest = TrustRoots.update(v1, repository::get, CLOCK);

    assertThat(newest).isEqualTo(v3);
  }

  @Test
  void intermediateRootsMayHaveExpiredButTheLastMustNot() throws Exception {
    TrustRoot expiredV2 = root(2, NOW.minusSeconds(60), List.of(rootV2), 1, List.of(release), 1);
    Map<Long, byte[]> repository = new HashMap<>();
    repository.put(2L, signed(DocumentType.ROOT, expiredV2, rootV1, rootV2));
    assertCode(() -> TrustRoots.update(v1, repository::get, CLOCK), ErrorCode.METADATA_EXPIRED);

    repository.put(3L, signed(DocumentType.ROOT, v3, rootV2, rootV3));
    assertThat(TrustRoots.update(v1, repository::get, CLOCK)).isEqualTo(v3);
  }

  @Test
  void skippingAVersionIsRefused() {
    byte[] v3SignedByV1AndV3 = signed(DocumentType.ROOT, v3, rootV1, rootV3);
    assertCode(() -> TrustRoots.verifyNext(v1, v3SignedByV1AndV3), ErrorCode.METADATA_INCONSISTENT);
  }

  @Test
  void newRootSignedOnlyByItsOwnKeysIsRefused() {
    assertCode(() -> TrustRoots.verifyNext(v1, signed(DocumentType.ROOT, v2, rootV2)), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void newRootSignedOnlyByTheOldKeysIsRefused() {
    assertCode(() -> TrustRoots.verifyNext(v1, signed(DocumentType.ROOT, v2, rootV1)), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void newRootMustMeetTheOldThreshold() {
    SigningKey secondV1 = SigningKey.generate();
    TrustRoot twoOfTwo = root(1, NEXT_YEAR, List.of(rootV1, secondV1), 2, List.of(release), 1);
    assertCode(() -> TrustRoots.verifyNext(twoOfTwo, signed(DocumentType.ROOT, v2, rootV1, rootV2)),
        ErrorCode.SIGNATURE_THRESHOLD);
    assertThat(TrustRoots.verifyNext(twoOfTwo, signed(DocumentType.ROOT, v2, rootV1, secondV1, rootV2)))
        .isEqualTo(v2);
  }

  @Test
  void olderOrEqualVersionIsARollback() {
    TrustRoot anotherV1 = root(1, NEXT_YEAR, List.of(rootV1), 1, List.of(SigningKey.generate()), 1);
    assertCode(() -> TrustRoots.verifyNext(v1, signed(DocumentType.ROOT, anotherV1, rootV1)),
        ErrorCode.ROLLBACK_REFUSED);
  }

  @Test
  void aBrokenLinkStopsTheWalk() {
    Map<Long, byte[]> repository = new HashMap<>();
    repository.put(2L, signed(DocumentType.ROOT, v2, rootV1, rootV2));
    repository.put(3L, signed(DocumentType.ROOT, v3, rootV3)); // not signed by v2's key
    assertCode(() -> TrustRoots.update(v1, repository::get, CLOCK), ErrorCode.SIGNATURE_INVALID);
  }

  @Test
  void rotatedReleaseKeyTakesEffect() throws Exception {
    SigningKey newRelease = SigningKey.generate();
    TrustRoot v2NewRelease = root(2, NEXT_YEAR, List.of(rootV1), 1, List.of(newRelease), 1);
    Map<Long, byte[]> repository = Map.of(2L, signed(DocumentType.ROOT, v2NewRelease, rootV1));
    TrustRoot current = TrustRoots.update(v1, repository::get, CLOCK);
    MetadataVerifier verifier = new MetadataVerifier(current, CLOCK);
    byte[] oldKeyManifest = signed(DocumentType.RELEASE,
        io.upgradekit.schema.Fixtures.manifest("shop", "2.0.0", 3, NEXT_YEAR), release);

    assertCode(() -> verifier.verifyReleaseManifest(oldKeyManifest, "shop", "2.0.0", null),
        ErrorCode.SIGNATURE_INVALID);
  }
}
