package io.upgradekit.it;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * The node updater as an operator installs it: its distribution tarball unpacked ({@code
 * bin/updater}, {@code lib/node-updater.jar}, {@code conf/}, {@code systemd/}). One install serves
 * every node of a scenario; each node has its own configuration and home.
 */
public final class UpdaterInstall {
  private final Path root;

  private UpdaterInstall(Path root) {
    this.root = root;
  }

  /** Unpacks {@code tarGz} into {@code into} (its top directory dropped), keeping executable bits. */
  public static UpdaterInstall unpack(Path tarGz, Path into) {
    try (InputStream file = new BufferedInputStream(Files.newInputStream(tarGz));
        TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(file))) {
      Files.createDirectories(into);
      Path base = into.toRealPath();
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        String name = entry.getName();
        int slash = name.indexOf('/');
        String relative = slash < 0 ? "" : name.substring(slash + 1);
        if (relative.isEmpty()) {
          continue;
        }
        Path target = base.resolve(relative).normalize();
        if (!target.startsWith(base)) {
          throw new HarnessException(tarGz + " has an entry outside its directory: " + name);
        }
        if (entry.isDirectory()) {
          Files.createDirectories(target);
        } else if (entry.isFile()) {
          Files.createDirectories(target.getParent());
          Files.copy(tar, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          Files.setPosixFilePermissions(target, permissions(entry.getMode()));
        }
      }
      return new UpdaterInstall(base);
    } catch (IOException e) {
      throw new HarnessException("cannot unpack " + tarGz + " into " + into + ": " + e, e);
    }
  }

  public Path root() {
    return root;
  }

  /** {@code bin/updater}, the launcher. */
  public Path launcher() {
    return root.resolve("bin/updater");
  }

  /** The launcher followed by {@code arguments}. */
  public List<String> command(List<String> arguments) {
    List<String> command = new ArrayList<>();
    command.add(launcher().toString());
    command.addAll(arguments);
    return command;
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ);
    if ((mode & 0100) != 0) {
      p.add(PosixFilePermission.OWNER_EXECUTE);
      p.add(PosixFilePermission.GROUP_EXECUTE);
      p.add(PosixFilePermission.OTHERS_EXECUTE);
    }
    return p;
  }
}
