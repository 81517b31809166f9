package io.upgradekit.updater.journal;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.BoundedFiles;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The updater's state files written through {@link DurableFiles} (the product's one durable-write
 * shape), creating missing directories durably first and reporting failures as IO_ERROR, or
 * DISK_FULL when the file system is full even after the target's {@link DiskFull.Reclaimer} freed
 * what it could (state writes are never starved by payload writes).
 */
public final class StateFiles {
  /**
   * The largest state file read back (journal and history records, node state, service record):
   * real ones are a few kilobytes, and 1 MiB of JSON parses in well under 16 MB of heap.
   */
  public static final int MAX_STATE_BYTES = 1024 * 1024;

  private StateFiles() {}

  /**
   * A state file that exists but cannot be used: not a regular file (a directory in its place),
   * unreadable, oversized, empty, not valid JSON, wrong types or values. Its code is IO_ERROR (the
   * node's own disk, not a verification refusal); the engine moves such a file to {@code
   * state/damaged/} and rebuilds what it held ({@code STATE_RECOVERED}).
   */
  public static final class DamagedStateException extends UpgradeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String reason;

    public DamagedStateException(Path file, String what, String reason, Throwable cause) {
      super(ErrorCode.IO_ERROR, file + " is damaged (" + what + ": " + reason + "); the next 'updater run' moves "
          + "it to state/" + Quarantine.DIRECTORY + "/ and rebuilds the state from the current link and versions/",
          cause);
      this.file = file;
      this.reason = reason;
    }

    public Path file() {
      return file;
    }

    /** What is wrong with it, in a few words. */
    public String reason() {
      return reason;
    }
  }

  /** Replaces {@code file} atomically and durably. */
  public static void write(Path file, byte[] content) {
    withSpace(file, "write", () -> {
      DurableFiles.createDirectories(file.toAbsolutePath().getParent());
      DurableFiles.writeAtomically(file, content);
      return true;
    });
  }

  /** Creates {@code file} only if it does not exist; returns false if it did. */
  public static boolean create(Path file, byte[] content) {
    return withSpace(file, "create", () -> {
      DurableFiles.createDirectories(file.toAbsolutePath().getParent());
      return DurableFiles.createExclusively(file, content);
    });
  }

  private interface Write {
    boolean run() throws IOException;
  }

  /**
   * Runs a state write; on a full disk frees space step by step (the target's reclaimer) and
   * retries after each step that freed something.
   */
  private static boolean withSpace(Path file, String verb, Write write) {
    IOException failure;
    try {
      return write.run();
    } catch (IOException e) {
      failure = e;
    }
    if (!DiskFull.isDiskFull(failure)) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot " + verb + " " + file + ": " + failure, failure);
    }
    DiskFull.Reclaimer reclaimer = DiskFull.reclaimerFor(file);
    for (int step = 0; reclaimer != null && step < reclaimer.steps(); step++) {
      if (!reclaimer.free(step)) {
        continue;
      }
      try {
        return write.run();
      } catch (IOException e) {
        if (!DiskFull.isDiskFull(e)) {
          throw new UpgradeException(ErrorCode.IO_ERROR, "cannot " + verb + " " + file + ": " + e, e);
        }
        failure.addSuppressed(e);
      }
    }
    throw DiskFull.stateWriteFailed(file, failure);
  }

  /**
   * Reads a state file written by {@link #write}: null when it does not exist.
   *
   * @throws DamagedStateException when it exists but cannot be used (see there)
   */
  public static <T> T read(Path file, Class<T> type, String what) {
    byte[] bytes = readBytes(file, what);
    if (bytes == null) {
      return null;
    }
    T value;
    try {
      value = Json.read(bytes, type, what);
    } catch (UpgradeException e) {
      throw new DamagedStateException(file, what, e.getMessage(), e);
    } catch (RuntimeException e) { // a record's own check that Jackson did not wrap
      throw new DamagedStateException(file, what, e.toString(), e);
    }
    if (value == null) {
      throw new DamagedStateException(file, what, "the document is JSON null", null);
    }
    return value;
  }

  /**
   * A state file's bytes (at most {@link #MAX_STATE_BYTES}), or null when it does not exist.
   *
   * @throws DamagedStateException when it is not a regular file, too large, empty or unreadable
   */
  public static byte[] readBytes(Path file, String what) {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attributes.isRegularFile()) {
        throw new DamagedStateException(file, what, attributes.isDirectory() ? "a directory is in its place"
            : "not a regular file", null);
      }
      if (attributes.size() > MAX_STATE_BYTES) {
        throw new DamagedStateException(file, what, attributes.size() + " bytes, larger than any " + what, null);
      }
      if (attributes.size() == 0) {
        throw new DamagedStateException(file, what, "empty", null);
      }
      // Bounded: the file may grow, or be replaced, between the size check and the read.
      return BoundedFiles.read(file, MAX_STATE_BYTES);
    } catch (BoundedFiles.TooLargeException e) {
      throw new DamagedStateException(file, what, "more than " + MAX_STATE_BYTES + " bytes, larger than any " + what,
          e);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new DamagedStateException(file, what, "unreadable: " + e, e);
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
