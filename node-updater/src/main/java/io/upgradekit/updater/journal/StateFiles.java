package io.upgradekit.updater.journal;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The updater's state files written through {@link DurableFiles} (the product's one durable-write
 * shape), creating missing directories durably first and reporting failures as IO_ERROR.
 */
public final class StateFiles {
  /**
   * The largest state file read back (journal and history records, node state, service record):
   * real ones are a few kilobytes, and 1 MiB of JSON parses in well under 16 MB of heap.
   */
  static final int MAX_STATE_BYTES = 1024 * 1024;

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

  /**
   * Reads a state file written by {@link #write}: null when it does not exist. A file that does not
   * parse was damaged outside the updater; the error says so (IO_ERROR, not a verification
   * refusal) and names the file to move away.
   */
  public static <T> T read(Path file, Class<T> type, String what) {
    byte[] bytes;
    try {
      bytes = BoundedFiles.read(file, MAX_STATE_BYTES);
    } catch (BoundedFiles.TooLargeException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, file + " is larger than any " + what + " (" + MAX_STATE_BYTES
          + " bytes); move it away and run again: the current link decides what is installed");
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + file + ": " + e, e);
    }
    try {
      return Json.read(bytes, type, what);
    } catch (UpgradeException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, file + " is damaged (" + e.getMessage() + "); move it away "
          + "and run again: the current link decides what is installed", e);
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
