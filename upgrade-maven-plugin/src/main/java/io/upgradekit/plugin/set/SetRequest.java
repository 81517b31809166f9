package io.upgradekit.plugin.set;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One release set to publish, validated.
 *
 * @param name the set's name ({@code <setName>})
 * @param version the set's version ({@code <setVersion>}); immutable once published
 * @param descriptor the components, strategy, rollback policy and contracts
 * @param repository a directory path or repo-server's {@code http(s)://} URL ({@code <repository>})
 * @param token the publisher token for an HTTP repository, or null; never printed
 * @param signingKey the release key
 * @param created the set's timestamp (the build's {@code project.build.outputTimestamp}); its sequence
 *     is this instant in epoch seconds
 * @param lifetime how long after {@code created} the set expires
 * @param summaryFile where to write what was published, for CI ({@code target/upgrade/release-set.json})
 */
public record SetRequest(String name, String version, SetDescriptor descriptor, String repository, String token,
    SigningKey signingKey, Instant created, Duration lifetime, Path summaryFile) {
  /** Like a release manifest's: five years. */
  public static final Duration DEFAULT_LIFETIME = Duration.ofDays(1826);

  public SetRequest {
    named("<setName>", () -> Names.requireSetName(name));
    named("<setVersion>", () -> Names.requireVersion(version));
    Objects.requireNonNull(descriptor, "descriptor");
    if (repository == null || repository.isBlank()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> is not set: set <repository> (or"
          + " -Dupgrade.repository) to the directory or repo-server URL that holds the components' releases");
    }
    Objects.requireNonNull(signingKey, "signingKey");
    Objects.requireNonNull(created, "created");
    if (lifetime == null || lifetime.isNegative() || lifetime.isZero()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<setExpiryDays> must be at least 1 day");
    }
    Objects.requireNonNull(summaryFile, "summaryFile");
  }

  /** Secrets stay out of logs and messages. */
  @Override
  public String toString() {
    return "SetRequest[name=" + name + ", version=" + version + ", descriptor=" + descriptor.source() + ", repository="
        + repository + ", token=" + (token == null ? "none" : "(set)") + ", key=" + signingKey.keyId() + "]";
  }

  private static void named(String element, Runnable check) {
    try {
      check.run();
    } catch (UpgradeException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, element + ": " + e.getMessage() + "; set " + element
          + " in the plugin's configuration", e);
    }
  }
}
