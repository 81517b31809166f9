package io.upgradekit.schema.model;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;

/**
 * The rules for paths inside a payload tree. A path that passes {@link #requireSafe} can be
 * resolved against any directory without leaving it.
 */
public final class TreePaths {
  /** Longest path accepted inside a tree; deeper trees are not real payloads. */
  public static final int MAX_PATH_LENGTH = 1024;

  private TreePaths() {}

  /**
   * Accepts relative paths of non-empty segments separated by '/', none of them "." or "..", no
   * backslash, NUL or other control character, at most {@link #MAX_PATH_LENGTH} characters.
   *
   * @throws UpgradeException {@link ErrorCode#PAYLOAD_INVALID} otherwise
   */
  public static String requireSafe(String path) {
    if (path == null || path.isEmpty()) {
      throw invalid(path, "is empty");
    }
    if (path.length() > MAX_PATH_LENGTH) {
      throw invalid(path.substring(0, 64) + "...", "is longer than " + MAX_PATH_LENGTH + " characters");
    }
    if (path.startsWith("/")) {
      throw invalid(path, "is absolute");
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\\') {
        throw invalid(path, "contains a control character or backslash");
      }
    }
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw invalid(path, "has an empty, '.' or '..' segment");
      }
    }
    return path;
  }

  /**
   * Accepts a symlink target only when it is relative and, resolved from the link's directory,
   * stays inside the tree.
   */
  public static void requireLinkInsideTree(String linkPath, String target) {
    if (target.isEmpty() || target.startsWith("/") || target.indexOf('\0') >= 0
        || target.indexOf('\\') >= 0 || target.length() > MAX_PATH_LENGTH) {
      throw invalid(linkPath, "links to '" + target + "', which is not a relative path");
    }
    String[] base = linkPath.split("/");
    int depth = base.length - 1; // segments of the link's directory
    for (String segment : target.split("/", -1)) {
      if (segment.equals("..")) {
        depth--;
        if (depth < 0) {
          throw invalid(linkPath, "links to '" + target + "', outside the tree");
        }
      } else if (!segment.isEmpty() && !segment.equals(".")) {
        depth++;
      }
    }
  }

  private static UpgradeException invalid(String path, String why) {
    return new UpgradeException(ErrorCode.PAYLOAD_INVALID, "path '" + path + "' " + why);
  }
}
