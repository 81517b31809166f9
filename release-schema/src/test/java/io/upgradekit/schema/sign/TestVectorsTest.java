package io.upgradekit.schema.sign;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.Fixtures;
import io.upgradekit.schema.json.Json;
import io.upgradekit.schema.model.ChannelPointer;
import io.upgradekit.schema.model.DocumentType;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.schema.model.TrustRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Checks the committed vectors under src/test/resources/vectors against what the code produces
 * now. A change of canonical encoding or signing breaks every other implementation, so it must
 * show here. To regenerate after a deliberate format change: {@code ./mvnw -pl release-schema test
 * -Dtest=TestVectorsTest -Dupgradekit.updateVectors=true}, and say why in the commit.
 */
class TestVectorsTest {
  private static final Path VECTORS = Path.of("src/test/resources/vectors");

  @Test
  void committedVectorsMatchTheCurrentEncodingAndSignatures() throws Exception {
    boolean update = Boolean.getBoolean("upgradekit.updateVectors");
    Map<String, Object> documents = TestVectors.documents();
    if (update) {
      Files.writeString(VECTORS.resolve("key.pem"), Ed25519Test.rfc8032Key().toPem());
    }
    for (Map.Entry<String, Object> entry : documents.entrySet()) {
      String name = entry.getKey();
      check(VECTORS.resolve(name + ".payload.json"), TestVectors.payload(entry.getValue()), update);
      if (TestVectors.typeOf(name).signingRole() != null) {
        check(VECTORS.resolve(name + ".envelope.json"), TestVectors.envelope(name, entry.getValue()), update);
      }
    }
    assertThat(SigningKey.fromPem(Files.readString(VECTORS.resolve("key.pem"))).keyId())
        .isEqualTo(Ed25519Test.rfc8032Key().keyId());
  }

  @Test
  void committedEnvelopesVerify() throws Exception {
    TrustRoot root = TrustRoots.readPinned(Files.readAllBytes(VECTORS.resolve("root.envelope.json")), Fixtures.CLOCK);
    MetadataVerifier verifier = new MetadataVerifier(root, Fixtures.CLOCK);
    ChannelPointer pointer = verifier.verifyChannelPointer(
        Files.readAllBytes(VECTORS.resolve("channel.envelope.json")), "hello-service", "stable", 0);
    ReleaseManifest release = verifier.verifyReleaseManifest(
        Files.readAllBytes(VECTORS.resolve("release.envelope.json")), pointer);

    assertThat(release.version()).isEqualTo("1.0.0");
    assertThat(Json.read(Files.readAllBytes(VECTORS.resolve("release.payload.json")), DocumentType.RELEASE,
        ReleaseManifest.class)).isEqualTo(release);
  }

  private static void check(Path file, byte[] actual, boolean update) throws Exception {
    if (update) {
      Files.write(file, actual);
    }
    assertThat(file).as("vector file %s (see the class comment to regenerate)", file).exists();
    assertThat(new String(actual, java.nio.charset.StandardCharsets.UTF_8))
        .as("vector %s", file.getFileName())
        .isEqualTo(Files.readString(file));
  }
}
