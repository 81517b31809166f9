package io.upgradekit.plugin.release;

import io.upgradekit.schema.model.BlobRef;
import io.upgradekit.schema.model.RolloutPlan;
import java.util.List;
import java.util.Objects;

/**
 * What a release run published; written as {@code target/upgrade/release.json} for CI steps.
 *
 * @param status what changed in the repository
 * @param app the app
 * @param version the version
 * @param channel the channel
 * @param repository where it was published
 * @param sequence the release manifest's sequence
 * @param pointerSequence the channel pointer's sequence after the run
 * @param treeHash the payload tree's hash
 * @param payloadSize the payload tree's total file size in bytes
 * @param manifest the release manifest file's hash and size
 * @param manifestPath its repository path
 * @param packageBlob the full package (JSON {@code package})
 * @param deltas the deltas, each verified by applying it
 * @param verified true when this run applied every blob it published and each reproduced the
 *     release's tree (false when it published nothing new: that was proven when it was)
 * @param rollout the rollout plan the published manifest carries; absent (null) when it has none
 */
public record ReleaseResult(
    Status status,
    String app,
    String version,
    String channel,
    String repository,
    long sequence,
    long pointerSequence,
    String treeHash,
    long payloadSize,
    BlobRef manifest,
    String manifestPath,
    @com.fasterxml.jackson.annotation.JsonProperty("package") BlobRef packageBlob,
    List<Delta> deltas,
    boolean verified,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    RolloutPlan rollout) {

  public ReleaseResult {
    Objects.requireNonNull(status, "status");
    deltas = List.copyOf(deltas);
  }

  /** What the run changed. */
  public enum Status {
    /** New blobs, a new manifest and a new channel pointer. */
    @com.fasterxml.jackson.annotation.JsonProperty("published")
    PUBLISHED,
    /** The version was there with identical content; only the channel pointer moved to it. */
    @com.fasterxml.jackson.annotation.JsonProperty("pointer-updated")
    POINTER_UPDATED,
    /** The version was there with identical content and the channel had it: nothing changed. */
    @com.fasterxml.jackson.annotation.JsonProperty("unchanged")
    UNCHANGED
  }

  /**
   * One delta of the release.
   *
   * @param fromVersion the version it upgrades from
   * @param blob the delta blob
   * @param ratio its size divided by the full package's
   */
  public record Delta(String fromVersion, BlobRef blob, double ratio) {}
}
