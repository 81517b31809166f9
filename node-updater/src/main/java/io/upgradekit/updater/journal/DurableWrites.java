package io.upgradekit.updater.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * The one shape of a durable write in the updater: temp file in the same directory, {@code
 * force(true)}, atomic rename (or {@code createLink} for create-if-absent), fsync the directory.
 *
 * <p>Stand-in for {@code io.upgradekit.schema.io.DurableFiles} until the schema-io branch is in
 * main; then every caller moves to it and this class goes away.
 */
public final class DurableWrites {
  private DurableWrites() {}

  /** Replaces {@code target} with {@code content} atomically and durably. */
  public static void writeAtomically(Path target, byte[] content) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = writeTemp(dir, target.getFileName().toString(), content);
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temp);
    }
    fsyncDirectory(dir);
  }

  /**
   * Creates {@code target} with {@code content} only if it does not exist yet.
   *
   * @return false when the target already existed (nothing was changed)
   */
  public static boolean createExclusively(Path target, byte[] content) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = writeTemp(dir, target.getFileName().toString(), content);
    try {
      Files.createLink(target, temp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } finally {
      Files.deleteIfExists(temp);
      fsyncDirectory(dir);
    }
  }

  /** Forces a directory's entries (creations, renames, deletions) to disk. */
  public static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static Path writeTemp(Path dir, String name, byte[] content) throws IOException {
    Path temp = dir.resolve("." + name + "." + UUID.randomUUID() + ".tmp");
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(content);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    return temp;
  }
}
