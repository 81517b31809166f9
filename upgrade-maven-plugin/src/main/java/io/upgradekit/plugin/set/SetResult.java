package io.upgradekit.plugin.set;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.upgradekit.schema.model.BlobRef;
import java.util.List;
import java.util.Objects;

/**
 * What a release set run published; written as {@code target/upgrade/release-set.json} for CI.
 *
 * @param status {@code published}, or {@code unchanged} (the same set was there already)
 * @param name the set
 * @param version its version
 * @param repository where
 * @param path its repository path ({@code sets/<name>/<version>.json})
 * @param document the stored document's hash and size
 * @param order the components in dependency order (the order of the rollouts)
 * @param components each component with the release it installs
 */
public record SetResult(Status status, String name, String version, String repository, String path, BlobRef document,
    List<String> order, List<Component> components) {
  public enum Status {
    @JsonProperty("published")
    PUBLISHED,
    @JsonProperty("unchanged")
    UNCHANGED
  }

  /**
   * One component as published.
   *
   * @param app the app
   * @param version its release
   * @param manifest that release's manifest file's hash and size
   * @param rollout its rollout plan, described (every component of a set has one)
   */
  public record Component(String app, String version, BlobRef manifest, String rollout) {}

  public SetResult {
    Objects.requireNonNull(status, "status");
    order = List.copyOf(order);
    components = List.copyOf(components);
  }
}
