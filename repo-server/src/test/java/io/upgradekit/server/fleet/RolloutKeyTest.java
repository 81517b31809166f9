package io.upgradekit.server.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RolloutKeyTest {
  static Path write(Path dir, String mode, String pem) throws Exception {
    Path file = dir.resolve("rollout.key");
    Files.writeString(file, pem);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
    return file;
  }

  static void refused(Path file, RolloutFixture f, String message) {
    assertThatThrownBy(() -> RolloutKey.load(file, f.trust)).isInstanceOfSatisfying(UpgradeException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID)).hasMessageContaining(message);
  }

  @Test
  void theKeyMustBeTheOwnersAloneAndNamedByTheTrustRootsRolloutRole(@TempDir Path dir) throws Exception {
    RolloutFixture f = new RolloutFixture(Files.createDirectory(dir.resolve("repo")));
    Path good = write(dir, "rw-------", f.rolloutKey.toPem());
    assertThat(RolloutKey.load(good, f.trust).keyId()).isEqualTo(f.rolloutKey.keyId());
    Files.setPosixFilePermissions(good, PosixFilePermissions.fromString("rw-r--r--"));
    refused(good, f, "chmod 600");
    Files.delete(good);
    refused(write(dir, "rw-------", f.releaseKey.toPem()), f, "does not name for the rollout role");
    Files.delete(dir.resolve("rollout.key"));
    refused(write(dir, "rw-------", f.rolloutKey.publicKeyPem()), f, "not a signing key file");
    refused(dir.resolve("missing.key"), f, "does not exist");
    Files.delete(dir.resolve("rollout.key"));
    Path again = write(dir, "rw-------", f.rolloutKey.toPem());
    assertThatThrownBy(() -> RolloutKey.load(again, null))
        .hasMessageContaining("the repository has no trust root");
    assertThat(RolloutKey.of(SigningKey.generate()).trustedBy(f.trust)).isFalse();
  }
}
