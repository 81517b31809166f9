package io.upgradekit.schema.delta;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Hashes;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.PayloadTree;
import io.upgradekit.schema.model.TreeEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a directory into a {@link PayloadTree}: regular files (hashed, in parallel), symbolic
 * links (which must be relative and stay inside the tree) and empty directories. Never follows a
 * link; any other kind of file is refused.
 */
final class TreeScanner {
  private TreeScanner() {}

  static PayloadTree scan(Path root, int threads) {
    List<Path> files = new ArrayList<>();
    List<TreeEntry> others = new ArrayList<>();
    Set<String> dirs = new HashSet<>();
    Set<String> parents = new HashSet<>();
    try {
      Files.walkFileTree(root, EnumSet.noneOf(FileVisitOption.class), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
          if (!dir.equals(root)) {
            count();
            String path = treePath(root, dir);
            dirs.add(path);
            addParents(path);
          }
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          count();
          String path = treePath(root, file);
          addParents(path);
          if (attrs.isRegularFile()) {
            files.add(file);
          } else if (attrs.isSymbolicLink()) {
            String target = Files.readSymbolicLink(file).toString();
            others.add(TreeEntry.symlink(path, target));
          } else {
            throw new UpgradeException(ErrorCode.PAYLOAD_INVALID,
                "'" + path + "' is neither a regular file, a directory nor a symbolic link");
          }
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
          throw e;
        }

        private void count() {
          if (files.size() + others.size() + dirs.size() >= PayloadTree.MAX_ENTRIES) {
            throw new UpgradeException(ErrorCode.PAYLOAD_INVALID,
                root + " holds more than " + PayloadTree.MAX_ENTRIES + " entries");
          }
        }

        private void addParents(String path) {
          for (int slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
            if (!parents.add(path.substring(0, slash))) {
              break;
            }
          }
        }
      });
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + root + ": " + e.getMessage(), e);
    }
    List<TreeEntry> entries = new ArrayList<>(others);
    for (String dir : dirs) {
      if (!parents.contains(dir)) {
        entries.add(TreeEntry.directory(dir));
      }
    }
    entries.addAll(Parallel.map(files, threads, file -> fileEntry(treePath(root, file), file)));
    PayloadTree tree = new PayloadTree(entries);
    TreeShape.require(tree, ErrorCode.PAYLOAD_INVALID);
    return tree;
  }

  static TreeEntry fileEntry(String treePath, Path file) throws IOException {
    long[] size = new long[1];
    String sha = sha256(file, size);
    return TreeEntry.file(treePath, size[0], sha, isExecutable(file));
  }

  static boolean isExecutable(Path file) throws IOException {
    try {
      PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      return a.permissions().contains(PosixFilePermission.OWNER_EXECUTE);
    } catch (UnsupportedOperationException e) {
      return Files.isExecutable(file);
    }
  }

  /**
   * SHA-256 of a file; stores the size in {@code size[0]}. Read, not memory-mapped: a map's pages
   * stay in the process (and count in its memory) until the map is collected, and a payload's
   * files are each read once.
   */
  static String sha256(Path file, long[] size) throws IOException {
    MessageDigest digest = Hashes.newSha256();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long length = ch.size();
      ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(Math.max(length, 1), 1 << 20));
      long at = 0;
      for (int n; (n = ch.read(buffer.clear(), at)) > 0; ) {
        digest.update(buffer.flip());
        at += n;
      }
      if (at != length) {
        throw new IOException(file + " changed while it was read");
      }
      size[0] = length;
    }
    return Hashes.hex(digest.digest());
  }

  static String treePath(Path root, Path file) {
    Path rel = root.relativize(file);
    StringBuilder s = new StringBuilder();
    for (Path part : rel) {
      if (s.length() > 0) {
        s.append('/');
      }
      s.append(part);
    }
    return s.toString();
  }
}
