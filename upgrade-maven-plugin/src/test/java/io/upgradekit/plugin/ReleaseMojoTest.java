package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.maven.api.plugin.testing.InjectMojo;
import org.apache.maven.api.plugin.testing.MojoParameter;
import org.apache.maven.api.plugin.testing.MojoTest;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;

/** Mojo wiring: the pom's configuration and the documented defaults reach the goal's fields. */
@MojoTest
class ReleaseMojoTest {
  private static final String POM = "src/test/resources/unit/release/pom.xml";

  @Test
  @InjectMojo(goal = "release", pom = POM)
  void configurationReachesTheGoal(ReleaseMojo mojo) {
    assertThat(mojo.repository).isEqualTo("target/repo");
    assertThat(mojo.app).isEqualTo("demo");
    assertThat(mojo.channel).isEqualTo("beta");
    assertThat(mojo.deltaCount).isEqualTo(2);
    assertThat(mojo.payload).isNotNull();
    assertThat(mojo.payload.getPath()).endsWith("dist");
    assertThat(mojo.labels).isEqualTo(Map.of("commit", "abc123"));
  }

  @Test
  @InjectMojo(goal = "release", pom = POM)
  void documentedDefaultsApply(ReleaseMojo mojo) {
    assertThat(mojo.manifestExpiryDays).isEqualTo(1826);
    assertThat(mojo.pointerExpiryDays).isEqualTo(365);
    assertThat(mojo.skip).isFalse();
    assertThat(mojo.keyFile).isNull();
  }

  @Test
  @InjectMojo(goal = "release", pom = POM)
  @MojoParameter(name = "skip", value = "true")
  void skipDoesNothing(ReleaseMojo mojo) throws Exception {
    mojo.environment = Map.of(); // without skip, the missing key would fail the goal
    mojo.execute();
  }

  @Test
  @InjectMojo(goal = "release", pom = POM)
  void withoutAKeyTheBuildFailsSayingHowToGetOne(ReleaseMojo mojo) {
    mojo.environment = Map.of();

    assertThatThrownBy(mojo::execute)
        .isInstanceOf(MojoFailureException.class)
        .hasMessageContaining("<keyFile>")
        .hasMessageContaining("upgrade:keygen");
  }
}
