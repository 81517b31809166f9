package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Turns what the user releases into the tree nodes install, laid out as a directory:
 *
 * <ul>
 *   <li>a directory is the tree as it is;
 *   <li>an assembly {@code .zip}, {@code .tar}, {@code .tar.gz} or {@code .tgz} is unpacked by the
 *       delta engine's reader; when it holds nothing but one top directory (assemblies' {@code
 *       app-1.2/}), that directory is the tree, so that paths do not change from version to version
 *       and deltas can pair files by path;
 *   <li>any other file (the jar or war) becomes a one-file tree named {@code <app>.<extension>}, a
 *       name that stays the same across versions.
 * </ul>
 */
final class Payloads {
  private Payloads() {}

  /**
   * @param staging a directory this method may create and fill (it must not exist)
   * @return the directory holding the tree: {@code payload} itself, or one below {@code staging}
   * @throws ConfigurationException PAYLOAD_INVALID if the payload is missing or unusable
   */
  static Path stage(Path payload, String app, Path staging, DeltaEngine engine) throws IOException {
    if (!Files.exists(payload, LinkOption.NOFOLLOW_LINKS)) {
      throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the payload " + payload + " does not exist:"
          + " run the release after 'package' (e.g. 'mvn package upgrade:release'), or point <payload> at the"
          + " file or directory to release");
    }
    if (Files.isDirectory(payload)) {
      return payload;
    }
    String name = payload.getFileName().toString();
    String lower = name.toLowerCase(Locale.ROOT);
    Files.createDirectories(staging);
    if (lower.endsWith(".zip") || lower.endsWith(".tar.gz") || lower.endsWith(".tgz") || lower.endsWith(".tar")) {
      Path unpacked = staging.resolve("unpacked");
      try {
        engine.unpack(payload, unpacked);
      } catch (io.upgradekit.schema.UpgradeException e) {
        throw new ConfigurationException(e.code(), "the payload " + payload + " cannot be released: " + e.getMessage()
            + "; fix the assembly or point <payload> elsewhere", e);
      }
      return singleTopDirectory(unpacked);
    }
    int dot = name.lastIndexOf('.');
    String stable = dot > 0 ? app + name.substring(dot).toLowerCase(Locale.ROOT) : app;
    Path tree = staging.resolve("tree");
    Files.createDirectories(tree);
    try {
      Files.createLink(tree.resolve(stable), payload.toRealPath());
    } catch (IOException | UnsupportedOperationException e) {
      Files.copy(payload, tree.resolve(stable));
    }
    return tree;
  }

  /** The one directory {@code dir} holds and nothing else (an assembly's {@code app-1.2/}), or {@code dir}. */
  static Path singleTopDirectory(Path dir) throws IOException {
    try (Stream<Path> children = Files.list(dir)) {
      List<Path> all = children.toList();
      if (all.size() == 1 && Files.isDirectory(all.get(0), LinkOption.NOFOLLOW_LINKS)) {
        return all.get(0);
      }
    }
    return dir;
  }
}
