package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.sign.MetadataVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryVerifierTest {
  @TempDir Path dir;
  Fixture fixture;

  @BeforeEach
  void setUp() throws IOException {
    fixture = new Fixture(dir);
    fixture.release("1.0.0");
    fixture.release("1.1.0");
  }

  private ReleaseManifest manifest(String version) throws IOException {
    byte[] bytes = Files.readAllBytes(fixture.repository.resolve(RepositoryLayout.releaseManifest("demo", version)));
    return new MetadataVerifier(RepositoryTrust.load(new DirectoryRepository(fixture.repository), Fixture.CLOCK),
        Fixture.CLOCK).verifyReleaseManifest(bytes, "demo", version, null);
  }

  @Test
  void aSoundRepositoryHasNoProblems() {
    RepositoryVerifier.Report report = fixture.verify();

    assertThat(report.problems()).isEmpty();
    assertThat(report.releases()).isEqualTo(2);
    assertThat(report.deltas()).isEqualTo(1);
    assertThat(report.channels()).isEqualTo(1);
  }

  @Test
  void aTamperedDeltaIsCaughtByItsHash() throws IOException {
    Path delta = fixture.repository.resolve(RepositoryLayout.blob(manifest("1.1.0").deltas().get(0).blob().sha256()));
    byte[] bytes = Files.readAllBytes(delta);
    bytes[bytes.length - 1] ^= 1;
    Files.write(delta, bytes);

    assertThat(fixture.verify().problems()).extracting(RepositoryVerifier.Problem::code)
        .contains(ErrorCode.HASH_MISMATCH, ErrorCode.REFERENCE_MISSING);
  }

  @Test
  void aTamperedManifestFailsItsSignatureAndThePointerNamingIt() throws IOException {
    Path manifest = fixture.repository.resolve(RepositoryLayout.releaseManifest("demo", "1.1.0"));
    String text = Files.readString(manifest);
    int sig = text.indexOf("\"sig\":\"") + 7;
    char flipped = text.charAt(sig) == 'A' ? 'B' : 'A';
    Files.writeString(manifest, text.substring(0, sig) + flipped + text.substring(sig + 1));

    RepositoryVerifier.Report report = fixture.verify();

    assertThat(report.problems()).anySatisfy(p -> {
      assertThat(p.code()).isEqualTo(ErrorCode.SIGNATURE_INVALID);
      assertThat(p.path()).isEqualTo(RepositoryLayout.releaseManifest("demo", "1.1.0"));
    });
    assertThat(report.problems()).anySatisfy(p ->
        assertThat(p.path()).isEqualTo(RepositoryLayout.channelPointer("demo", "stable")));
  }

  @Test
  void aMissingPackageIsReported() throws IOException {
    Files.delete(fixture.repository.resolve(RepositoryLayout.blob(manifest("1.0.0").packageBlob().sha256())));

    assertThat(fixture.verify().problems()).anySatisfy(p -> {
      assertThat(p.code()).isEqualTo(ErrorCode.REFERENCE_MISSING);
      assertThat(p.message()).contains("package");
    });
  }

  @Test
  void aPointerToAMissingManifestIsReported() throws IOException {
    Files.delete(fixture.repository.resolve(RepositoryLayout.releaseManifest("demo", "1.1.0")));

    assertThat(fixture.verify().problems()).anySatisfy(p -> {
      assertThat(p.code()).isEqualTo(ErrorCode.REFERENCE_MISSING);
      assertThat(p.path()).isEqualTo(RepositoryLayout.channelPointer("demo", "stable"));
      assertThat(p.message()).contains("1.1.0");
    });
  }

  @Test
  void anExpiredPointerIsReported() {
    Clock later = Clock.fixed(Fixture.BUILT.plus(ReleaseRequest.DEFAULT_POINTER_LIFETIME).plusSeconds(1), ZoneOffset.UTC);
    RepositoryVerifier.Report report = new RepositoryVerifier(new CopyingEngine(), later, e -> { })
        .verify(new DirectoryRepository(fixture.repository), dir.resolve("v"));

    assertThat(report.problems()).extracting(RepositoryVerifier.Problem::code).contains(ErrorCode.METADATA_EXPIRED);
  }

  @Test
  void aCurrentRootThatIsNotTheLastOfTheChainIsReported() throws IOException {
    Files.writeString(fixture.repository.resolve("root.json"), "{}");

    assertThat(fixture.verify().problems()).anySatisfy(p -> {
      assertThat(p.code()).isEqualTo(ErrorCode.METADATA_INCONSISTENT);
      assertThat(p.path()).isEqualTo("root.json");
    });
  }

  @Test
  void everyProblemIsListedNotJustTheFirst() throws IOException {
    Files.delete(fixture.repository.resolve(RepositoryLayout.blob(manifest("1.0.0").packageBlob().sha256())));
    Files.writeString(fixture.repository.resolve("root.json"), "{}");

    assertThat(fixture.verify().problems().size()).isGreaterThanOrEqualTo(3);
  }
}
