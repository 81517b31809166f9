package io.upgradekit.schema.model;

/**
 * A reference to an immutable blob (a package or a delta) in the repository, named by its hash.
 *
 * @param sha256 lowercase hex SHA-256 of the blob's bytes; also its name in the repository
 * @param size exact size in bytes; readers stop reading past it
 */
public record BlobRef(String sha256, long size) {
  public BlobRef {
    Checks.sha256(sha256, "sha256");
    Checks.nonNegative(size, "size");
  }
}
