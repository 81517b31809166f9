package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Everything one release needs, validated: what to release (app, version, payload), where
 * (repository, channel), how (delta count, lifetimes, timestamps), with which key, and how it
 * rolls out over the fleet.
 *
 * @param app the app name ({@code <app>})
 * @param version the version to publish ({@code <version>}); immutable once published
 * @param channel the channel whose pointer moves to this version ({@code <channel>})
 * @param payload the jar/war, assembly archive or directory to release ({@code <payload>})
 * @param repository a directory path or an {@code http(s)://} URL of repo-server ({@code <repository>})
 * @param token the bearer token for an HTTP repository, or null; never printed
 * @param signingKey the release key
 * @param deltaCount deltas from up to this many of the channel's latest releases ({@code <deltaCount>})
 * @param created the release's timestamp, from {@code project.build.outputTimestamp} so that the same
 *     build gives the same bytes
 * @param manifestLifetime how long after {@code created} the manifest expires
 * @param pointerLifetime how long after {@code created} the channel pointer expires
 * @param labels free-form build information signed into the manifest (may be empty)
 * @param workDirectory where each run makes its private scratch directory (e.g. {@code target/upgrade/work})
 * @param summaryFile where to write what was published, for CI (e.g. {@code target/upgrade/release.json})
 * @param pointerAttempts how often to try the channel pointer's compare-and-swap before giving up
 * @param rollout the rollout plan signed into the manifest ({@code <rollout>}), or null for none: nodes
 *     install the release as soon as they see it
 */
public record ReleaseRequest(
    String app,
    String version,
    String channel,
    Path payload,
    String repository,
    String token,
    SigningKey signingKey,
    int deltaCount,
    Instant created,
    Duration manifestLifetime,
    Duration pointerLifetime,
    Map<String, String> labels,
    Path workDirectory,
    Path summaryFile,
    int pointerAttempts,
    RolloutPlan rollout) {
  public static final int DEFAULT_DELTA_COUNT = 3;
  public static final Duration DEFAULT_MANIFEST_LIFETIME = Duration.ofDays(1826);
  public static final Duration DEFAULT_POINTER_LIFETIME = Duration.ofDays(365);
  public static final int DEFAULT_POINTER_ATTEMPTS = 5;
  /** The most deltas one manifest carries. */
  public static final int MAX_DELTA_COUNT = 32;

  public ReleaseRequest {
    named("<app>", () -> Names.requireApp(app));
    named("<version>", () -> Names.requireVersion(version));
    named("<channel>", () -> Names.requireChannel(channel));
    if (payload == null) {
      throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "<payload> is not set and the project has no"
          + " main artifact: run 'mvn package upgrade:release', or set <payload> to the file or directory to release");
    }
    if (repository == null || repository.isBlank()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> is not set: set <repository> (or"
          + " -Dupgrade.repository) to a directory path or to repo-server's http(s) URL");
    }
    Objects.requireNonNull(signingKey, "signingKey");
    if (deltaCount < 0 || deltaCount > MAX_DELTA_COUNT) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<deltaCount> is " + deltaCount + ": it must be"
          + " between 0 (full package only) and " + MAX_DELTA_COUNT);
    }
    Objects.requireNonNull(created, "created");
    positive("<manifestExpiryDays>", manifestLifetime);
    positive("<pointerExpiryDays>", pointerLifetime);
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    Objects.requireNonNull(workDirectory, "workDirectory");
    Objects.requireNonNull(summaryFile, "summaryFile");
    if (pointerAttempts < 1) {
      throw new IllegalArgumentException("pointerAttempts must be at least 1");
    }
  }

  /** A release without a rollout plan (nodes install it as soon as they see it). */
  public ReleaseRequest(String app, String version, String channel, Path payload, String repository, String token,
      SigningKey signingKey, int deltaCount, Instant created, Duration manifestLifetime, Duration pointerLifetime,
      Map<String, String> labels, Path workDirectory, Path summaryFile, int pointerAttempts) {
    this(app, version, channel, payload, repository, token, signingKey, deltaCount, created, manifestLifetime,
        pointerLifetime, labels, workDirectory, summaryFile, pointerAttempts, null);
  }

  /** Secrets stay out of logs, exception messages and debugger views. */
  @Override
  public String toString() {
    return "ReleaseRequest[app=" + app + ", version=" + version + ", channel=" + channel + ", payload=" + payload
        + ", repository=" + repository + ", token=" + (token == null ? "none" : "(set)") + ", key=" + signingKey.keyId()
        + ", deltaCount=" + deltaCount + ", created=" + created + ", rollout="
        + (rollout == null ? "none" : RolloutSettings.describe(rollout)) + "]";
  }

  private static void named(String element, Runnable check) {
    try {
      check.run();
    } catch (io.upgradekit.schema.UpgradeException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, element + ": " + e.getMessage() + "; set " + element
          + " in the plugin's configuration", e);
    }
  }

  private static void positive(String element, Duration lifetime) {
    if (lifetime == null || lifetime.isNegative() || lifetime.isZero()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, element + " must be at least 1 day");
    }
  }
}
