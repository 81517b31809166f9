package io.upgradekit.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.junit.jupiter.api.Test;

class MojoErrorsTest {
  @Test
  void whatTheUserFixesIsAFailureWithCodeAndFix() {
    Exception mapped = MojoErrors.map(new ConfigurationException(ErrorCode.IO_ERROR, "no trust root: run keygen"));

    assertThat(mapped).isInstanceOf(MojoFailureException.class).hasMessage("IO_ERROR: no trust root: run keygen");
  }

  @Test
  void refusedRepositoryContentIsAFailure() {
    assertThat(MojoErrors.map(new UpgradeException(ErrorCode.SIGNATURE_INVALID, "bad")))
        .isInstanceOf(MojoFailureException.class);
  }

  @Test
  void environmentFailuresAreExecutionErrors() {
    assertThat(MojoErrors.map(new UpgradeException(ErrorCode.IO_ERROR, "disk full")))
        .isInstanceOf(MojoExecutionException.class).hasMessage("IO_ERROR: disk full");
    assertThat(MojoErrors.map(new UpgradeException(ErrorCode.RATE_LIMITED, "slow down")))
        .isInstanceOf(MojoExecutionException.class);
  }
}
