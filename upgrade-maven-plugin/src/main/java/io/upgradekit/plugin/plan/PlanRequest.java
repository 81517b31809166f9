package io.upgradekit.plugin.plan;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.set.SetDescriptor;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Names;
import io.upgradekit.schema.model.RolloutPlan;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * What {@code upgrade:plan} previews: a release set (its descriptor) or one release (app and
 * version), against the fleet of an inventory.
 *
 * @param repository where the releases are (a directory or repo-server's URL), or null to preview a
 *     single release from the pom's plan alone
 * @param descriptor the set's descriptor, or null to preview one release
 * @param setName the set's name (with a descriptor)
 * @param setVersion the set's version (with a descriptor)
 * @param app the release's app (without a descriptor)
 * @param version the release's version (without a descriptor)
 * @param pomPlan the pom's {@code <rollout>}, used for a release that is not published yet, or null
 * @param channel the channel whose nodes would take the releases
 * @param inventory an inventory snapshot file or directory, or null for the directory repository's
 *     own {@code fleet/inventory}
 * @param nodeTime how long one node's update takes (STOP to healthy), for the durations
 */
public record PlanRequest(String repository, SetDescriptor descriptor, String setName, String setVersion, String app,
    String version, RolloutPlan pomPlan, String channel, Path inventory, Duration nodeTime) {
  /** A typical update: stop, switch, start, health check and the first watch minute. */
  public static final Duration DEFAULT_NODE_TIME = Duration.ofMinutes(1);

  public PlanRequest {
    if (descriptor != null) {
      named("<setName>", () -> Names.requireSetName(setName));
      named("<setVersion>", () -> Names.requireVersion(setVersion));
    } else {
      named("<app>", () -> Names.requireApp(app));
      named("<version>", () -> Names.requireVersion(version));
    }
    named("<channel>", () -> Names.requireChannel(channel));
    Objects.requireNonNull(nodeTime, "nodeTime");
    if (nodeTime.toSeconds() < 1 || nodeTime.compareTo(Duration.ofDays(1)) > 0) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<nodeTime> is " + nodeTime.toSeconds() + "s: the"
          + " time of one node's update is between 1s and 1d, e.g. 90s or 2m");
    }
    if (descriptor != null && (repository == null || repository.isBlank())) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> is not set: a set's preview reads its"
          + " components' releases (their plans) from the repository; set <repository> or -Dupgrade.repository");
    }
  }

  private static void named(String element, Runnable check) {
    try {
      check.run();
    } catch (UpgradeException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, element + ": " + e.getMessage(), e);
    }
  }
}
