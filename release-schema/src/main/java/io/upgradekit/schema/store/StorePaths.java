package io.upgradekit.schema.store;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.layout.RepositoryLayout;
import io.upgradekit.schema.model.Names;
import java.util.Objects;

/**
 * The checks every {@link RepositoryStore} applies to the paths it is given, so that a directory
 * and an object store refuse the same names with the same code ({@link ErrorCode#NAME_INVALID}).
 */
public final class StorePaths {
  private StorePaths() {}

  /**
   * A document's or file's path: relative ({@link RepositoryLayout#requireRelative}) and not
   * hidden (names starting with '.' are a store's own bookkeeping).
   *
   * @return the path, checked
   */
  public static String document(String path) {
    RepositoryLayout.requireRelative(path);
    if (RepositoryLayout.isHidden(path)) {
      throw hidden(path);
    }
    return path;
  }

  /**
   * A listing's prefix: "" for everything, else the start of a relative path (complete segments,
   * then possibly the start of one, such as {@code claims/app/1.0/wave-1/slot-}), never hidden.
   *
   * @return the prefix, checked
   */
  public static String prefix(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    if (prefix.isEmpty()) {
      return prefix;
    }
    if (RepositoryLayout.isHidden(prefix)) {
      throw hidden(prefix);
    }
    int slash = prefix.lastIndexOf('/');
    String partial = prefix.substring(slash + 1);
    // The complete segments must form a valid path; the partial last one just a valid start of one.
    RepositoryLayout.requireRelative(slash < 0 ? "x" + partial : prefix.substring(0, slash) + "/x" + partial);
    return prefix;
  }

  /**
   * The path of a blob named by its content's SHA-256.
   *
   * @throws UpgradeException {@link ErrorCode#NAME_INVALID} if {@code sha256} is not 64 lowercase
   *     hex digits
   */
  public static String blob(String sha256) {
    if (!Hashes.isSha256Hex(sha256)) {
      throw new UpgradeException(ErrorCode.NAME_INVALID, Names.quote(String.valueOf(sha256)) + " is not a blob name:"
          + " it must be the SHA-256 of the content as 64 lowercase hex digits");
    }
    return RepositoryLayout.blob(sha256);
  }

  private static UpgradeException hidden(String path) {
    return new UpgradeException(ErrorCode.NAME_INVALID, "repository path " + Names.quote(path) + " is hidden: names"
        + " starting with '.' are the store's own (claims, locks, temp files) and never documents");
  }
}
