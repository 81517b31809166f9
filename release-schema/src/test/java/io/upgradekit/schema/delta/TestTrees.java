package io.upgradekit.schema.delta;

import static org.assertj.core.api.Assertions.assertThat;

import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.PayloadTree;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds payload trees and archives for tests. */
final class TestTrees {
  private TestTrees() {}

  static Path file(Path root, String path, byte[] bytes) {
    try {
      Path p = root.resolve(path);
      Files.createDirectories(p.getParent());
      Files.write(p, bytes);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path file(Path root, String path, String text) {
    return file(root, path, text.getBytes(StandardCharsets.UTF_8));
  }

  static Path executable(Path root, String path, String text) {
    Path p = file(root, path, text);
    try {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  static void symlink(Path root, String path, String target) {
    try {
      Path p = root.resolve(path);
      Files.createDirectories(p.getParent());
      Files.createSymbolicLink(p, Path.of(target));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void dir(Path root, String path) {
    try {
      Files.createDirectories(root.resolve(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] random(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Text-like bytes that deflate well: many similar lines. */
  static byte[] text(long seed, int lines) {
    Random r = new Random(seed);
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      s.append("line ").append(i).append(": value=").append(r.nextInt(1000)).append(" the quick brown fox\n");
    }
    return s.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Entries written by the JDK's ZipOutputStream at level 6 (deflated, with data descriptors). */
  static byte[] jar(String[][] entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      for (String[] e : entries) {
        ZipEntry entry = new ZipEntry(e[0]);
        entry.setTime(1_700_000_000_000L);
        zip.putNextEntry(entry);
        zip.write(e[1].getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static ZipEntry stored(String name, byte[] bytes) {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(bytes.length);
    e.setCompressedSize(bytes.length);
    CRC32 crc = new CRC32();
    crc.update(bytes);
    e.setCrc(crc.getValue());
    e.setTime(1_700_000_000_000L);
    return e;
  }

  /** Asserts that {@code actual} holds exactly the tree {@code expected} holds (bytes, modes, links). */
  static void assertSameTree(Path actual, Path expected) {
    PayloadTree a = TreeScanner.scan(actual, 2);
    PayloadTree b = TreeScanner.scan(expected, 2);
    assertThat(a.entries()).isEqualTo(b.entries());
    assertThat(a.treeHash()).isEqualTo(b.treeHash());
  }

  /** Every path under {@code dir}, for "nothing was left behind" checks. */
  static long count(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteTree(Path p) {
    try {
      FileTrees.deleteRecursively(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Object inode(Path p) {
    try {
      return Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
