package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.store.s3.S3Store;
import io.upgradekit.store.s3.S3StoreConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Opens the repository a {@code <repository>} value names: an {@code http(s)://} URL (repo-server),
 * an {@code s3://<bucket>/<prefix>[?endpoint=...&region=...&pathStyle=true]} address (a bucket of an
 * S3-compatible object store, written straight through {@link S3Store}; credentials from the AWS
 * SDK's default chain only), or a directory.
 */
public final class Repositories {
  private Repositories() {}

  /** Whether the value names repo-server over HTTP rather than a store. */
  public static boolean isUrl(String location) {
    String lower = location.toLowerCase(Locale.ROOT);
    return lower.startsWith("http://") || lower.startsWith("https://");
  }

  /** Whether the value names a bucket of an object store ({@code s3://}). */
  public static boolean isObjectStore(String location) {
    return location.toLowerCase(Locale.ROOT).startsWith("s3://");
  }

  /**
   * @param location a URL, an {@code s3://} address, or a directory path (relative paths resolve
   *     against {@code baseDirectory})
   * @param token the bearer token for HTTP, or null
   * @throws ConfigurationException CONFIG_INVALID for a malformed URL or store address
   */
  public static Repository open(String location, String token, Path baseDirectory) {
    return open(location, token, null, baseDirectory, message -> { });
  }

  /**
   * @param location a URL, an {@code s3://} address, or a directory path (relative paths resolve
   *     against {@code baseDirectory})
   * @param token the bearer token for HTTP, or null
   * @param tokenSource where the token came from, for error messages, or null
   * @param progress told when a directory's pointer swap waits for another publisher
   * @throws ConfigurationException CONFIG_INVALID for a malformed URL or store address
   */
  public static Repository open(String location, String token, String tokenSource, Path baseDirectory,
      Consumer<String> progress) {
    if (isUrl(location)) {
      try {
        return new HttpRepository(new URI(location), token, tokenSource);
      } catch (URISyntaxException | IllegalArgumentException e) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> " + location + " is not a valid URL: "
            + e.getMessage(), e);
      }
    }
    return openStore(location, baseDirectory, progress);
  }

  /**
   * Opens a repository the plugin writes directly (not through repo-server): a bucket or a
   * directory.
   *
   * @throws ConfigurationException CONFIG_INVALID for a URL (which only repo-server's API can
   *     write) or a malformed store address
   */
  public static StoreRepository openStore(String location, Path baseDirectory, Consumer<String> progress) {
    if (isUrl(location)) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> " + location + " is repo-server's URL,"
          + " which takes releases but not trust roots: set <repository> to the directory (its --root) or the s3://"
          + " address (its --store) that repo-server serves, or publish roots/1.root.json with PUT /v1/roots/1");
    }
    if (isObjectStore(location)) {
      S3StoreConfig config;
      try {
        config = S3StoreConfig.parse(location);
      } catch (UpgradeException e) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> " + e.getMessage(), e);
      }
      return new StoreRepository(new S3Store(config));
    }
    return new DirectoryRepository(baseDirectory.resolve(location), progress);
  }
}
