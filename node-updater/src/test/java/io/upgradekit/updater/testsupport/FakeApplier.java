package io.upgradekit.updater.testsupport;

import io.upgradekit.updater.engine.PayloadApplier;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A stand-in for the delta engine in tests: a blob is a ZIP of files to write over a copy of the
 * base tree, plus an optional {@value #DELETIONS} entry listing paths to delete. A full package is
 * the same thing from the empty tree.
 */
public final class FakeApplier implements PayloadApplier {
  public static final String DELETIONS = ".deletions";

  @Override
  public void apply(Path blob, Path baseDir, Path outDir, String expectedTreeHash) throws IOException {
    Files.createDirectory(outDir);
    if (baseDir != null) {
      copyTree(baseDir, outDir);
    }
    try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(blob))) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        byte[] bytes = zip.readAllBytes();
        if (e.getName().equals(DELETIONS)) {
          for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
              Files.deleteIfExists(outDir.resolve(line));
            }
          }
          continue;
        }
        Path target = outDir.resolve(e.getName()).normalize();
        if (!target.startsWith(outDir)) {
          throw new IOException("entry outside the tree: " + e.getName());
        }
        Files.createDirectories(target.getParent());
        Files.write(target, bytes);
      }
    } catch (java.util.zip.ZipException e) {
      throw new io.upgradekit.schema.UpgradeException(io.upgradekit.schema.ErrorCode.PATCH_MALFORMED,
          "not a test package: " + e.getMessage());
    }
  }

  /** Builds a blob that turns {@code from} into {@code to}. */
  public static byte[] blob(Map<String, byte[]> from, Map<String, byte[]> to) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      StringBuilder deletions = new StringBuilder();
      for (String path : new TreeMap<>(from).keySet()) {
        if (!to.containsKey(path)) {
          deletions.append(path).append('\n');
        }
      }
      for (Map.Entry<String, byte[]> e : new TreeMap<>(to).entrySet()) {
        if (!java.util.Arrays.equals(from.get(e.getKey()), e.getValue())) {
          zip.putNextEntry(new ZipEntry(e.getKey()));
          zip.write(e.getValue());
          zip.closeEntry();
        }
      }
      if (deletions.length() > 0) {
        zip.putNextEntry(new ZipEntry(DELETIONS));
        zip.write(deletions.toString().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void copyTree(Path from, Path to) throws IOException {
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        Files.createDirectories(to.resolve(from.relativize(dir).toString()));
        Files.setPosixFilePermissions(to.resolve(from.relativize(dir).toString()),
            java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
          Path target = to.resolve(from.relativize(file).toString());
          Files.copy(in, target);
          Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
