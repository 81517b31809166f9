package io.upgradekit.plugin.release;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.TreePaths;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Turns what the user releases into the tree nodes install, laid out as a directory:
 *
 * <ul>
 *   <li>a directory is the tree as it is;
 *   <li>an assembly {@code .zip}, {@code .tar.gz} or {@code .tgz} is unpacked; when every entry sits
 *       in one top directory (assemblies' {@code app-1.2/}), that directory is dropped, so that paths
 *       do not change from version to version and deltas can pair files by path;
 *   <li>any other file (the jar or war) becomes a one-file tree named {@code <app>.<extension>}, a
 *       name that stays the same across versions.
 * </ul>
 */
final class Payloads {
  private Payloads() {}

  /**
   * @param staging a directory this method may create and fill (it must not exist)
   * @return the directory holding the tree: {@code payload} itself, or {@code staging}
   * @throws ConfigurationException PAYLOAD_INVALID if the payload is missing or unusable
   */
  static Path stage(Path payload, String app, Path staging) throws IOException {
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
    if (lower.endsWith(".zip")) {
      unzip(payload, staging);
    } else if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) {
      untar(payload, staging);
    } else {
      int dot = name.lastIndexOf('.');
      String stable = dot > 0 ? app + name.substring(dot).toLowerCase(Locale.ROOT) : app;
      Path target = staging.resolve(stable);
      try {
        Files.createLink(target, payload.toRealPath());
      } catch (IOException | UnsupportedOperationException e) {
        Files.copy(payload, target);
      }
    }
    return staging;
  }

  private static void unzip(Path archive, Path staging) throws IOException {
    try (ZipFile zip = ZipFile.builder().setPath(archive).get()) {
      List<ZipArchiveEntry> entries = new ArrayList<>();
      for (Enumeration<ZipArchiveEntry> e = zip.getEntries(); e.hasMoreElements(); ) {
        entries.add(e.nextElement());
      }
      String prefix = commonTopDirectory(entries.stream().map(ZipArchiveEntry::getName).toList());
      for (ZipArchiveEntry entry : entries) {
        String path = strip(entry.getName(), prefix);
        if (path == null) {
          continue;
        }
        if (entry.isDirectory()) {
          Files.createDirectories(target(staging, path, archive));
        } else if (entry.isUnixSymlink()) {
          link(staging, path, zip.getUnixSymlink(entry), archive);
        } else {
          try (InputStream in = zip.getInputStream(entry)) {
            file(staging, path, in, (entry.getUnixMode() & 0100) != 0, archive);
          }
        }
      }
    }
  }

  private static void untar(Path archive, Path staging) throws IOException {
    List<String> names = new ArrayList<>();
    try (TarArchiveInputStream tar = tar(archive)) {
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        names.add(entry.getName());
      }
    }
    String prefix = commonTopDirectory(names);
    try (TarArchiveInputStream tar = tar(archive)) {
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        String path = strip(entry.getName(), prefix);
        if (path == null) {
          continue;
        }
        if (entry.isDirectory()) {
          Files.createDirectories(target(staging, path, archive));
        } else if (entry.isSymbolicLink()) {
          link(staging, path, entry.getLinkName(), archive);
        } else if (entry.isFile() && !entry.isLink()) {
          file(staging, path, tar, (entry.getMode() & 0100) != 0, archive);
        } else {
          throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the payload " + archive + " holds '"
              + entry.getName() + "', a hard link or special file; a release tree holds only files, symlinks and"
              + " directories");
        }
      }
    }
  }

  private static TarArchiveInputStream tar(Path archive) throws IOException {
    return new TarArchiveInputStream(new GzipCompressorInputStream(new BufferedInputStream(Files.newInputStream(archive))));
  }

  /** The single top directory every entry sits in ("app-1.2/"), or "" if there is none. */
  static String commonTopDirectory(List<String> names) {
    String top = null;
    for (String raw : names) {
      String name = raw.startsWith("./") ? raw.substring(2) : raw;
      int slash = name.indexOf('/');
      if (slash <= 0) {
        if (name.isEmpty()) {
          continue;
        }
        return ""; // a file at the top level
      }
      String first = name.substring(0, slash + 1);
      if (top == null) {
        top = first;
      } else if (!top.equals(first)) {
        return "";
      }
    }
    return top == null ? "" : top;
  }

  private static String strip(String raw, String prefix) {
    String name = raw.startsWith("./") ? raw.substring(2) : raw;
    if (!name.startsWith(prefix)) {
      return null;
    }
    String path = name.substring(prefix.length());
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return path.isEmpty() ? null : path;
  }

  private static Path target(Path staging, String path, Path archive) {
    try {
      TreePaths.requireSafe(path);
    } catch (io.upgradekit.schema.UpgradeException e) {
      throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the payload " + archive + " holds an unsafe"
          + " entry: " + e.getMessage(), e);
    }
    return staging.resolve(path);
  }

  private static void file(Path staging, String path, InputStream in, boolean executable, Path archive)
      throws IOException {
    Path target = target(staging, path, archive);
    Files.createDirectories(target.getParent());
    try {
      Files.copy(in, target);
    } catch (FileAlreadyExistsException e) {
      throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the payload " + archive + " holds '" + path
          + "' twice", e);
    }
    if (executable) {
      try {
        Set<PosixFilePermission> permissions = new HashSet<>(Files.getPosixFilePermissions(target));
        permissions.add(PosixFilePermission.OWNER_EXECUTE);
        permissions.add(PosixFilePermission.GROUP_EXECUTE);
        permissions.add(PosixFilePermission.OTHERS_EXECUTE);
        Files.setPosixFilePermissions(target, permissions);
      } catch (UnsupportedOperationException e) {
        // Not POSIX: the executable bit cannot be kept here.
      }
    }
  }

  private static void link(Path staging, String path, String linkTarget, Path archive) throws IOException {
    Path target = target(staging, path, archive);
    try {
      TreePaths.requireLinkInsideTree(path, linkTarget);
    } catch (io.upgradekit.schema.UpgradeException e) {
      throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the payload " + archive + " holds a symlink"
          + " that leaves the tree: " + e.getMessage(), e);
    }
    Files.createDirectories(target.getParent());
    Files.createSymbolicLink(target, Paths.get(linkTarget));
  }
}
