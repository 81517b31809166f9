package io.upgradekit.plugin.release;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configuration mistakes are CONFIG_INVALID (the user fixes the pom or the command line), whatever
 * part of the configuration they are in; the message names the element and the fix.
 */
class ConfigurationMistakesTest {
  @TempDir Path dir;
  final SigningKey key = SigningKey.generate();

  static void configInvalid(ThrowingCallable call, String element) {
    assertThatThrownBy(call).isInstanceOfSatisfying(ConfigurationException.class, e -> {
      org.assertj.core.api.Assertions.assertThat(e.code()).isEqualTo(ErrorCode.CONFIG_INVALID);
      org.assertj.core.api.Assertions.assertThat(e.getMessage()).contains(element);
    });
  }

  ReleaseRequest request(String app, String repository, int deltaCount, Duration manifestLifetime) {
    return new ReleaseRequest(app, "1.0.0", "stable", dir, repository, null, key, deltaCount, Fixture.BUILT,
        manifestLifetime, ReleaseRequest.DEFAULT_POINTER_LIFETIME, Map.of(), dir.resolve("work"),
        dir.resolve("summary.json"), ReleaseRequest.DEFAULT_POINTER_ATTEMPTS);
  }

  @Test
  void releaseParameters() {
    configInvalid(() -> request("demo", " ", 1, ReleaseRequest.DEFAULT_MANIFEST_LIFETIME), "<repository> is not set");
    configInvalid(() -> request("demo", "repo", 99, ReleaseRequest.DEFAULT_MANIFEST_LIFETIME), "<deltaCount>");
    configInvalid(() -> request("demo", "repo", 1, Duration.ZERO), "<manifestExpiryDays>");
    configInvalid(() -> request("Not An App", "repo", 1, ReleaseRequest.DEFAULT_MANIFEST_LIFETIME), "<app>");
    configInvalid(() -> BuildTimestamps.parse("last tuesday"), "project.build.outputTimestamp");
    configInvalid(() -> Repositories.open("http://bad host/x", null, dir), "<repository>");
  }

  @Test
  void keygenParameters() {
    configInvalid(() -> new KeyGenerator.Request(dir.resolve("key"), (Path) null, null, Duration.ZERO), "<rootExpiryDays>");
  }

  @Test
  void aRepositoryWithoutTrustRootIsTheConfigurationsToFix() throws Exception {
    try (Repository empty = Repositories.open(dir.toString(), null, dir)) {
      configInvalid(() -> RepositoryTrust.load(empty, Clock.systemUTC()), "upgrade:keygen");
    }
  }
}
