package io.upgradekit.schema.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import java.util.Objects;

/**
 * One entry of a payload tree, as the release manifest lists it and the delta engine reproduces
 * it.
 *
 * @param path relative path with '/' separators, validated by {@link TreePaths#requireSafe}
 * @param type file, symlink or (empty) directory
 * @param size byte size of a file; 0 otherwise
 * @param sha256 lowercase hex SHA-256 of a file's bytes; null for other types
 * @param executable whether the file carries the executable bit (false for other types)
 * @param target a symlink's relative target, which must stay inside the tree; null otherwise
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TreeEntry(
    String path, EntryType type, long size, String sha256, boolean executable, String target) {

  public enum EntryType {
    @com.fasterxml.jackson.annotation.JsonProperty("file")
    FILE,
    @com.fasterxml.jackson.annotation.JsonProperty("symlink")
    SYMLINK,
    @com.fasterxml.jackson.annotation.JsonProperty("directory")
    DIRECTORY
  }

  public TreeEntry {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(type, "type");
    TreePaths.requireSafe(path);
    switch (type) {
      case FILE -> {
        if (size < 0) {
          throw malformed(path, "negative size " + size);
        }
        if (!Hashes.isSha256Hex(sha256)) {
          throw malformed(path, "sha256 must be 64 lowercase hex digits");
        }
        if (target != null) {
          throw malformed(path, "a file has no link target");
        }
      }
      case SYMLINK -> {
        if (target == null) {
          throw malformed(path, "a symlink needs a target");
        }
        TreePaths.requireLinkInsideTree(path, target);
        if (size != 0 || sha256 != null || executable) {
          throw malformed(path, "a symlink has no size, hash or executable bit");
        }
      }
      case DIRECTORY -> {
        if (size != 0 || sha256 != null || executable || target != null) {
          throw malformed(path, "a directory has no size, hash, executable bit or target");
        }
      }
    }
  }

  public static TreeEntry file(String path, long size, String sha256, boolean executable) {
    return new TreeEntry(path, EntryType.FILE, size, sha256, executable, null);
  }

  public static TreeEntry symlink(String path, String target) {
    return new TreeEntry(path, EntryType.SYMLINK, 0, null, false, target);
  }

  public static TreeEntry directory(String path) {
    return new TreeEntry(path, EntryType.DIRECTORY, 0, null, false, null);
  }

  private static UpgradeException malformed(String path, String why) {
    return new UpgradeException(ErrorCode.METADATA_MALFORMED, "tree entry '" + path + "': " + why);
  }
}
