package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeysTest {
  @TempDir Path dir;
  final List<Event> events = new ArrayList<>();
  final SigningKey key = SigningKey.generate();

  @Test
  void withoutKeyFileOrEnvironmentTheMessageSaysHowToGetAKey() {
    assertThatThrownBy(() -> SigningKeys.load(null, null, events::add))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("<keyFile> is not set")
        .hasMessageContaining("upgrade:keygen")
        .hasMessageContaining("UPGRADE_SIGNING_KEY");
  }

  @Test
  void readsTheKeyFile() throws IOException {
    Path file = dir.resolve("k.pem");
    Files.writeString(file, key.toPem());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    assertThat(SigningKeys.load(file, null, events::add).keyId()).isEqualTo(key.keyId());
    assertThat(events).isEmpty();
  }

  @Test
  void warnsWhenTheKeyFileIsReadableByOthers() throws IOException {
    Path file = dir.resolve("k.pem");
    Files.writeString(file, key.toPem());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    SigningKeys.load(file, null, events::add);

    assertThat(events).singleElement().isInstanceOf(Event.Warning.class);
  }

  @Test
  void readsTheEnvironmentWhenNoKeyFileIsConfiguredOrItIsAbsent() {
    assertThat(SigningKeys.load(null, key.toPem(), events::add).keyId()).isEqualTo(key.keyId());
    assertThat(SigningKeys.load(dir.resolve("absent.pem"), key.toPem(), events::add).keyId()).isEqualTo(key.keyId());
  }

  @Test
  void anAbsentKeyFileWithoutEnvironmentNamesKeygen() {
    assertThatThrownBy(() -> SigningKeys.load(dir.resolve("absent.pem"), " ", events::add))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("does not exist")
        .hasMessageContaining("upgrade:keygen");
  }

  @Test
  void thePublicKeyFileIsNotASigningKey() throws IOException {
    Path file = dir.resolve("k.pem.pub");
    Files.writeString(file, key.publicKeyPem());

    assertThatThrownBy(() -> SigningKeys.load(file, null, events::add))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("not the .pub file");
  }

  @Test
  void aBrokenEnvironmentValueNeverEchoesTheSecret() {
    String secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n";

    assertThatThrownBy(() -> SigningKeys.load(null, secret, events::add))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("UPGRADE_SIGNING_KEY")
        .hasMessageNotContaining("c2VjcmV0");
  }
}
