package io.upgradekit.updater.journal;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The updater's state files written through {@link DurableFiles} (the product's one durable-write
 * shape), creating missing directories durably first and reporting failures as IO_ERROR.
 */
public final class StateFiles {
  private StateFiles() {}

  /** Replaces {@code file} atomically and durably. */
  public static void write(Path file, byte[] content) {
    try {
      DurableFiles.createDirectories(file.toAbsolutePath().getParent());
      DurableFiles.writeAtomically(file, content);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot write " + file + ": " + e, e);
    }
  }

  /** Creates {@code file} only if it does not exist; returns false if it did. */
  public static boolean create(Path file, byte[] content) {
    try {
      DurableFiles.createDirectories(file.toAbsolutePath().getParent());
      return DurableFiles.createExclusively(file, content);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot create " + file + ": " + e, e);
    }
  }

  /** Forces a directory's entries to disk. */
  public static void fsyncDirectory(Path dir) {
    try {
      DurableFiles.fsyncDirectory(dir);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot fsync " + dir + ": " + e, e);
    }
  }
}
