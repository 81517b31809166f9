package io.upgradekit.schema.store;

import static io.upgradekit.schema.Fixtures.CLOCK;
import static io.upgradekit.schema.Fixtures.NEXT_YEAR;
import static io.upgradekit.schema.Fixtures.NOW;
import static io.upgradekit.schema.Fixtures.root;
import static io.upgradekit.schema.Fixtures.signed;
import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.TrustRoot;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trust-root rules that the plugin's keygen and repo-server's {@code PUT /v1/roots} share: a
 * first or pinned root verifies on its own, a rotation is exactly the next version signed by the
 * current root and its own, versions are created once, and {@code root.json} only moves forward.
 */
class TrustRootPublisherTest {
  @TempDir Path dir;
  final SigningKey rootKey = SigningKey.generate();
  final SigningKey nextRootKey = SigningKey.generate();
  final SigningKey releaseKey = SigningKey.generate();
  final TrustRoot first = root(1, NEXT_YEAR, List.of(rootKey), 1, List.of(releaseKey), 1);
  final byte[] firstBytes = signed(DocumentType.ROOT, first, rootKey);
  final TrustRoot second = root(2, NEXT_YEAR, List.of(nextRootKey), 1, List.of(releaseKey), 1);
  final byte[] secondBytes = signed(DocumentType.ROOT, second, rootKey, nextRootKey);

  RepositoryStore store() {
    return new DirectoryStore(dir);
  }

  TrustRootPublisher publisher() {
    return new TrustRootPublisher(store(), CLOCK);
  }

  byte[] content(String path) throws IOException {
    return store().read(path, DocumentType.ROOT.maxBytes()).map(RepositoryStore.Versioned::bytes).orElse(null);
  }

  @Test
  void aFirstRootMustVerifyOnItsOwnAndIsStoredAsVersionAndCurrent() throws IOException {
    SigningKey stranger = SigningKey.generate();
    RepositoryStoreContract.assertCode(() -> publisher().install(signed(DocumentType.ROOT, first, stranger)),
        ErrorCode.SIGNATURE_INVALID);
    TrustRoot expired = root(1, NOW.minusSeconds(1), List.of(rootKey), 1, List.of(releaseKey), 1);
    RepositoryStoreContract.assertCode(() -> publisher().install(signed(DocumentType.ROOT, expired, rootKey)),
        ErrorCode.METADATA_EXPIRED);
    assertThat(content(RepositoryLayout.trustRoot())).isNull();

    assertThat(publisher().install(firstBytes)).isEqualTo(TrustRootPublisher.Outcome.CREATED);

    assertThat(content(RepositoryLayout.trustRoot(1))).isEqualTo(firstBytes);
    assertThat(content(RepositoryLayout.trustRoot())).isEqualTo(firstBytes);
    assertThat(publisher().readCurrent()).hasValue(first);
    assertThat(publisher().install(firstBytes)).isEqualTo(TrustRootPublisher.Outcome.UNCHANGED);
    TrustRoot other = root(1, NEXT_YEAR, List.of(nextRootKey), 1, List.of(releaseKey), 1);
    assertThat(publisher().install(signed(DocumentType.ROOT, other, nextRootKey)))
        .isEqualTo(TrustRootPublisher.Outcome.CONFLICT);
    assertThat(content(RepositoryLayout.trustRoot())).isEqualTo(firstBytes);
  }

  @Test
  void aRotationMustBeTheNextVersionSignedByTheCurrentRootAndItsOwn() throws IOException {
    publisher().install(firstBytes);

    RepositoryStoreContract.assertCode(() -> publisher().publishNext(first, 2,
        signed(DocumentType.ROOT, second, nextRootKey)), ErrorCode.SIGNATURE_INVALID);
    RepositoryStoreContract.assertCode(() -> publisher().publishNext(first, 2,
        signed(DocumentType.ROOT, second, rootKey)), ErrorCode.SIGNATURE_INVALID);
    RepositoryStoreContract.assertCode(() -> publisher().publishNext(first, 3, secondBytes),
        ErrorCode.METADATA_INCONSISTENT);
    TrustRoot third = root(3, NEXT_YEAR, List.of(nextRootKey), 1, List.of(releaseKey), 1);
    RepositoryStoreContract.assertCode(() -> publisher().publishNext(first, 2,
        signed(DocumentType.ROOT, third, rootKey, nextRootKey)), ErrorCode.METADATA_INCONSISTENT);
    TrustRoot expired = root(2, NOW.minusSeconds(1), List.of(nextRootKey), 1, List.of(releaseKey), 1);
    RepositoryStoreContract.assertCode(() -> publisher().publishNext(first, 2,
        signed(DocumentType.ROOT, expired, rootKey, nextRootKey)), ErrorCode.METADATA_EXPIRED);
    assertThat(publisher().has(2)).isFalse();

    assertThat(publisher().publishNext(first, 2, secondBytes)).isEqualTo(TrustRootPublisher.Outcome.CREATED);

    assertThat(content(RepositoryLayout.trustRoot(2))).isEqualTo(secondBytes);
    assertThat(content(RepositoryLayout.trustRoot())).isEqualTo(secondBytes);
    assertThat(publisher().follow(first)).isEqualTo(second);
    assertThat(publisher().publishNext(first, 2, secondBytes)).isEqualTo(TrustRootPublisher.Outcome.UNCHANGED);
    assertThat(publisher().publishNext(second, 2, secondBytes)).isEqualTo(TrustRootPublisher.Outcome.UNCHANGED);
    RepositoryStoreContract.assertCode(() -> publisher().publishNext(second, 1, secondBytes),
        ErrorCode.VERSION_EXISTS);
  }

  @Test
  void anotherRootOfTheSameVersionPublishedMeanwhileWinsAndNothingChanges() throws IOException {
    publisher().install(firstBytes);
    TrustRoot rival = root(2, NEXT_YEAR, List.of(releaseKey), 1, List.of(releaseKey), 1);
    byte[] rivalBytes = signed(DocumentType.ROOT, rival, rootKey, releaseKey);
    store().create(RepositoryLayout.trustRoot(2), rivalBytes);

    assertThat(publisher().publishNext(first, 2, secondBytes)).isEqualTo(TrustRootPublisher.Outcome.CONFLICT);

    assertThat(content(RepositoryLayout.trustRoot(2))).isEqualTo(rivalBytes);
    assertThat(content(RepositoryLayout.trustRoot())).isEqualTo(firstBytes);
  }

  @Test
  void theCurrentRootNeverMovesBackToAnOlderVersion() throws IOException {
    publisher().install(firstBytes);
    TrustRoot third = root(3, NEXT_YEAR, List.of(nextRootKey), 1, List.of(releaseKey), 1);
    byte[] thirdBytes = signed(DocumentType.ROOT, third, nextRootKey);
    // A later rotation reached root.json first (another publisher, between our two steps).
    RepositoryStore.Versioned current = store().read(RepositoryLayout.trustRoot(), 1 << 20).orElseThrow();
    store().compareAndSwap(RepositoryLayout.trustRoot(), current.tag(), 3, thirdBytes);

    assertThat(publisher().publishNext(first, 2, secondBytes)).isEqualTo(TrustRootPublisher.Outcome.CREATED);

    assertThat(content(RepositoryLayout.trustRoot(2))).isEqualTo(secondBytes);
    assertThat(content(RepositoryLayout.trustRoot())).isEqualTo(thirdBytes);
  }

  @Test
  void aPinnedRootLeavesAnExistingCurrentRootAlone() throws IOException {
    store().create(RepositoryLayout.trustRoot(), secondBytes);

    assertThat(publisher().install(firstBytes)).isEqualTo(TrustRootPublisher.Outcome.CREATED);

    assertThat(content(RepositoryLayout.trustRoot(1))).isEqualTo(firstBytes);
    assertThat(content(RepositoryLayout.trustRoot())).isEqualTo(secondBytes);
  }
}
