package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/** Opens the repository a {@code <repository>} value names: an {@code http(s)://} URL or a directory. */
public final class Repositories {
  private Repositories() {}

  /** Whether the value names repo-server over HTTP rather than a directory. */
  public static boolean isUrl(String location) {
    String lower = location.toLowerCase(Locale.ROOT);
    return lower.startsWith("http://") || lower.startsWith("https://");
  }

  /**
   * @param location a URL, or a directory path (relative paths resolve against {@code baseDirectory})
   * @param token the bearer token for HTTP, or null
   * @throws ConfigurationException CONFIG_INVALID for a malformed URL
   */
  public static Repository open(String location, String token, Path baseDirectory) {
    return open(location, token, null, baseDirectory, message -> { });
  }

  /**
   * @param location a URL, or a directory path (relative paths resolve against {@code baseDirectory})
   * @param token the bearer token for HTTP, or null
   * @param tokenSource where the token came from, for error messages, or null
   * @param progress told when a directory's pointer swap waits for another publisher
   * @throws ConfigurationException CONFIG_INVALID for a malformed URL
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
    return new DirectoryRepository(baseDirectory.resolve(location), progress);
  }
}
