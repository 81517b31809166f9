package io.upgradekit.schema.model;

/**
 * A delta that turns an earlier release's tree into this release's tree.
 *
 * @param fromVersion the version the delta applies to
 * @param fromTreeHash {@link PayloadTree#treeHash()} of that version's tree; a node applies the
 *     delta only if its installed tree has this hash
 * @param blob the delta blob
 */
public record DeltaRef(String fromVersion, String fromTreeHash, BlobRef blob) {
  public DeltaRef {
    Names.requireVersion(fromVersion);
    Checks.sha256(fromTreeHash, "fromTreeHash");
    Checks.required(blob, "blob");
  }
}
