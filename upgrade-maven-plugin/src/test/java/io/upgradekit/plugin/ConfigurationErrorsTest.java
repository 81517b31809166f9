package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.nio.file.Path;
import org.apache.maven.api.plugin.testing.InjectMojo;
import org.apache.maven.api.plugin.testing.MojoTest;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration mistakes in the goals' own parameters fail the build (MojoFailureException, mapped
 * in MojoErrors) with CONFIG_INVALID first in the message, like every other code.
 */
@MojoTest
class ConfigurationErrorsTest {
  private static final String POM = "src/test/resources/unit/release/pom.xml";

  @TempDir Path dir;

  @Test
  @InjectMojo(goal = "release", pom = POM)
  void aServerIdWithoutItsSettingsServer(ReleaseMojo mojo) {
    mojo.repository = "http://127.0.0.1:9/";
    mojo.serverId = "no-such-server";
    mojo.settings = null;
    assertThatThrownBy(mojo::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageStartingWith("CONFIG_INVALID: <serverId> no-such-server names no <server>");
  }

  @Test
  void keygenIntoAUrlOrWithARootKeyButNoRepository() {
    KeygenMojo keygen = new KeygenMojo();
    keygen.keyFile = dir.resolve("key").toFile();
    keygen.rootExpiryDays = 365;
    keygen.repository = "https://updates.example.com/";
    assertThatThrownBy(keygen::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageStartingWith("CONFIG_INVALID: upgrade:keygen writes a trust root only into a directory");

    keygen.repository = null;
    keygen.rootKeyFile = new File(dir.toFile(), "root.key");
    assertThatThrownBy(keygen::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageStartingWith("CONFIG_INVALID: <rootKeyFile> signs a trust root: set <repository>");
  }

  @Test
  void verifyWithoutARepository() {
    VerifyMojo verify = new VerifyMojo();
    verify.basedir = dir.toFile();
    assertThatThrownBy(verify::execute).isInstanceOf(MojoFailureException.class)
        .hasMessageStartingWith("CONFIG_INVALID: <repository> is not set");
  }
}
