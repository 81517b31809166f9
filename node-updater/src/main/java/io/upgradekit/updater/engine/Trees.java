package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Verifying, sealing and deleting version trees. */
public final class Trees {
  private static final Set<PosixFilePermission> READ_ONLY_FILE = PosixFilePermissions.fromString("r--r--r--");
  private static final Set<PosixFilePermission> READ_ONLY_EXEC = PosixFilePermissions.fromString("r-xr-xr-x");

  private Trees() {}

  /**
   * Checks that {@code dir} holds exactly the manifest's tree: every entry with its type, size,
   * SHA-256, executable bit and link target, and nothing else.
   *
   * @throws UpgradeException HASH_MISMATCH naming the first difference
   */
  public static void verify(Path dir, PayloadTree tree) throws IOException {
    Map<String, TreeEntry> expected = new HashMap<>();
    Set<String> impliedDirs = new HashSet<>();
    for (TreeEntry e : tree.entries()) {
      expected.put(e.path(), e);
      String p = e.path();
      for (int i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
        impliedDirs.add(p.substring(0, i));
      }
    }
    List<String> seen = new ArrayList<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
        if (!d.equals(dir)) {
          String rel = relative(dir, d);
          TreeEntry e = expected.get(rel);
          if (e == null && !impliedDirs.contains(rel)) {
            throw mismatch(rel, "is a directory the manifest does not list");
          }
          if (e != null && e.type() != TreeEntry.EntryType.DIRECTORY) {
            throw mismatch(rel, "is a directory, the manifest says " + e.type());
          }
          seen.add(rel);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        String rel = relative(dir, f);
        TreeEntry e = expected.get(rel);
        if (e == null) {
          throw mismatch(rel, "is not in the manifest");
        }
        if (attrs.isSymbolicLink()) {
          if (e.type() != TreeEntry.EntryType.SYMLINK) {
            throw mismatch(rel, "is a symbolic link, the manifest says " + e.type());
          }
          String target = Files.readSymbolicLink(f).toString();
          if (!target.equals(e.target())) {
            throw mismatch(rel, "links to " + target + ", the manifest says " + e.target());
          }
        } else if (attrs.isRegularFile()) {
          if (e.type() != TreeEntry.EntryType.FILE) {
            throw mismatch(rel, "is a file, the manifest says " + e.type());
          }
          if (attrs.size() != e.size()) {
            throw mismatch(rel, "has " + attrs.size() + " bytes, the manifest says " + e.size());
          }
          if (!Hashes.sha256(f).equals(e.sha256())) {
            throw mismatch(rel, "does not have the manifest's SHA-256");
          }
          if (Files.isExecutable(f) != e.executable()) {
            throw mismatch(rel, "executable bit differs from the manifest");
          }
        } else {
          throw mismatch(rel, "is neither a file, a link nor a directory");
        }
        seen.add(rel);
        return FileVisitResult.CONTINUE;
      }
    });
    Set<String> seenSet = new HashSet<>(seen);
    for (String path : expected.keySet()) {
      if (!seenSet.contains(path)) {
        throw mismatch(path, "is missing");
      }
    }
  }

  /** fsyncs every file and directory, then makes the tree read-only (files first, then directories). */
  public static void sealReadOnly(Path dir) throws IOException {
    List<Path> dirs = new ArrayList<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
        dirs.add(d);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        if (attrs.isRegularFile()) {
          try (FileChannel channel = FileChannel.open(f, StandardOpenOption.READ)) {
            channel.force(true);
          }
          Files.setPosixFilePermissions(f, Files.isExecutable(f) ? READ_ONLY_EXEC : READ_ONLY_FILE);
        }
        return FileVisitResult.CONTINUE;
      }
    });
    for (int i = dirs.size() - 1; i >= 0; i--) {
      Path d = dirs.get(i);
      try (FileChannel channel = FileChannel.open(d, StandardOpenOption.READ)) {
        channel.force(true);
      }
      Files.setPosixFilePermissions(d, READ_ONLY_EXEC);
    }
  }

  private static String relative(Path root, Path p) {
    return root.relativize(p).toString().replace('\\', '/');
  }

  private static UpgradeException mismatch(String path, String why) {
    return new UpgradeException(ErrorCode.HASH_MISMATCH, "staged file '" + path + "' " + why);
  }
}
