package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A release: what one version of an app installs, and how to get it. Signed by the release role.
 *
 * @param type always {@code "release"}
 * @param app the app's name
 * @param version the release's version (immutable once published)
 * @param sequence increases with every release of the app; nodes refuse a release whose sequence is
 *     below the one they run (no downgrade by replay)
 * @param created when the release was built (from the build's output timestamp)
 * @param expires after this instant nodes refuse the manifest
 * @param payload every file, link and empty directory of the installed tree
 * @param treeHash {@link PayloadTree#treeHash()} of {@code payload}, checked on read
 * @param packageBlob the full package: a delta from the empty tree (JSON name {@code package})
 * @param deltas deltas from earlier releases, at most one per base version
 * @param rollout the rollout plan, or null if the release has none (absent, not "default plan")
 * @param labels free-form build information (commit, CI job), or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ReleaseManifest(
    String type,
    String app,
    String version,
    long sequence,
    Instant created,
    Instant expires,
    PayloadTree payload,
    String treeHash,
    @JsonProperty("package") BlobRef packageBlob,
    List<DeltaRef> deltas,
    RolloutPlan rollout,
    Map<String, String> labels) implements SignedDocument {
  public static final int MAX_DELTAS = 64;
  public static final int MAX_LABELS = 64;

  public ReleaseManifest {
    Checks.type(type, DocumentType.RELEASE);
    Names.requireApp(app);
    Names.requireVersion(version);
    Checks.positive(sequence, "sequence");
    Checks.required(created, "created");
    Checks.required(expires, "expires");
    Checks.required(payload, "payload");
    Checks.required(packageBlob, "package");
    deltas = deltas == null ? List.of() : List.copyOf(deltas);
    if (deltas.size() > MAX_DELTAS) {
      throw Checks.malformed("a release carries at most " + MAX_DELTAS + " deltas");
    }
    Set<String> bases = new HashSet<>();
    for (DeltaRef delta : deltas) {
      if (!bases.add(delta.fromVersion())) {
        throw Checks.malformed("two deltas from version " + delta.fromVersion());
      }
      if (delta.fromVersion().equals(version)) {
        throw Checks.malformed("a delta from the release's own version " + version);
      }
    }
    if (!payload.treeHash().equals(Checks.sha256(treeHash, "treeHash"))) {
      throw Checks.malformed("treeHash does not match the payload's entries");
    }
    if (labels != null) {
      if (labels.size() > MAX_LABELS) {
        throw Checks.malformed("at most " + MAX_LABELS + " labels");
      }
      labels.forEach((k, v) -> {
        Checks.text(k, "label name", 64);
        Checks.text(v, "label " + k, 1024);
      });
      labels = Map.copyOf(labels);
    }
  }

  public static ReleaseManifest of(String app, String version, long sequence, Instant created, Instant expires,
      PayloadTree payload, BlobRef packageBlob, List<DeltaRef> deltas, RolloutPlan rollout, Map<String, String> labels) {
    return new ReleaseManifest(DocumentType.RELEASE.typeName(), app, version, sequence, created, expires, payload,
        payload.treeHash(), packageBlob, deltas, rollout, labels);
  }

  /** The delta from {@code installedVersion}, if this release carries one. */
  public java.util.Optional<DeltaRef> deltaFrom(String installedVersion) {
    return deltas.stream().filter(d -> d.fromVersion().equals(installedVersion)).findFirst();
  }

  @Override
  public long serial() {
    return sequence;
  }
}
