package io.upgradekit.updater.journal;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * A full file system ({@code ENOSPC}, {@code EDQUOT}) as the updater meets it, and the rule that
 * state writes are never starved by payload writes.
 *
 * <p>Java reports both errors as an {@link IOException} whose message is the operating system's
 * text ("No space left on device", "Disk quota exceeded"), often wrapped by the library that
 * wrote (the delta engine wraps it in an {@link UpgradeException}); {@link #isDiskFull} looks
 * through the whole cause chain.
 *
 * <p>Each target keeps a small reserve file ({@code state/reserve}, {@value #RESERVE_BYTES}
 * bytes, written at the start of every run when it is missing and there is room). When a state
 * write (journal, history, node state, outbox, service record) meets a full disk, {@link
 * StateFiles} asks the target's registered {@link #register reclaimer} to free space (the
 * reserve first, then staging leftovers and the download cache) and retries once, so that the
 * failure that filled the disk is still journaled, kept in history and reported.
 */
public final class DiskFull {
  /** Size of {@code state/reserve}: far more than the few state files one run writes. */
  public static final int RESERVE_BYTES = 1024 * 1024;

  /** The reserve's file name under {@code state/}. */
  public static final String RESERVE = "reserve";

  private static final Map<Path, Reclaimer> RECLAIMERS = new ConcurrentHashMap<>();

  private DiskFull() {}

  /** Frees space for state writes in one target's home; steps are tried in order. */
  public interface Reclaimer {
    /**
     * Frees some space (step 0: the reserve; step 1: staging leftovers and the download cache).
     *
     * @return true if anything was freed at this step
     */
    boolean free(int step);

    /** The number of steps. */
    int steps();
  }

  /**
   * Registers what to free when a state write under {@code stateDir} meets a full disk (one per
   * target home; a later registration for the same directory replaces the earlier one).
   */
  public static void register(Path stateDir, Reclaimer reclaimer) {
    RECLAIMERS.put(stateDir.toAbsolutePath().normalize(), reclaimer);
  }

  /** The reclaimer for a state file's target, or null. */
  static Reclaimer reclaimerFor(Path file) {
    Path absolute = file.toAbsolutePath().normalize();
    for (Map.Entry<Path, Reclaimer> e : RECLAIMERS.entrySet()) {
      if (absolute.startsWith(e.getKey())) {
        return e.getValue();
      }
    }
    return null;
  }

  /** True when {@code t} or anything in its cause chain (or suppressed) is ENOSPC or EDQUOT. */
  public static boolean isDiskFull(Throwable t) {
    return isDiskFull(t, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
  }

  private static boolean isDiskFull(Throwable t, Set<Throwable> seen) {
    if (t == null || !seen.add(t)) {
      return false;
    }
    if (t instanceof UpgradeException u && u.code() == ErrorCode.DISK_FULL) {
      return true;
    }
    String message = t.getMessage();
    if (message != null && (message.contains("No space left on device") || message.contains("Disk quota exceeded"))) {
      return true;
    }
    for (Throwable s : t.getSuppressed()) {
      if (isDiskFull(s, seen)) {
        return true;
      }
    }
    return isDiskFull(t.getCause(), seen);
  }

  /**
   * Writes {@code state/reserve} if it is missing. Plain zeros, forced to the device, so its blocks
   * are really allocated (tmpfs and ext4 alike). Without room for it nothing is left behind.
   *
   * @return null when the reserve is in place, else why it could not be written
   */
  public static String ensureReserve(Path stateDir) {
    Path reserve = stateDir.resolve(RESERVE);
    if (Files.exists(reserve, java.nio.file.LinkOption.NOFOLLOW_LINKS)
        && !Files.isRegularFile(reserve, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      io.upgradekit.schema.io.FileTrees.deleteQuietly(reserve); // ours, and only ballast: no need to keep it
    }
    if (Files.isRegularFile(reserve)) {
      try {
        if (Files.size(reserve) == RESERVE_BYTES) {
          return null;
        }
      } catch (IOException e) {
        // rewritten below
      }
    }
    try {
      DurableFiles.createDirectories(stateDir);
      DurableFiles.writeAtomically(reserve, (OutputStream out) -> {
        byte[] zeros = new byte[64 * 1024];
        for (int written = 0; written < RESERVE_BYTES; written += zeros.length) {
          out.write(zeros);
        }
      });
      return null;
    } catch (IOException | UpgradeException e) {
      return "cannot keep the " + RESERVE_BYTES + "-byte reserve " + reserve + " for state writes: " + e.getMessage();
    }
  }

  /** Deletes the reserve; true if there was one. */
  public static boolean releaseReserve(Path stateDir) {
    try {
      return Files.deleteIfExists(stateDir.resolve(RESERVE));
    } catch (IOException e) {
      return false;
    }
  }

  /** The DISK_FULL failure for a state write that did not fit even after freeing space. */
  static UpgradeException stateWriteFailed(Path file, Throwable cause) {
    return new UpgradeException(ErrorCode.DISK_FULL, "the file system of " + file + " is full, even after the "
        + "updater freed its reserve, staging leftovers and download cache: free some space (logs, old files) "
        + "and run again; the next run reconciles whatever this one could not record", cause);
  }

  /** A reclaimer whose steps are these suppliers, in order. */
  public static Reclaimer of(BooleanSupplier... steps) {
    return new Reclaimer() {
      @Override
      public boolean free(int step) {
        return steps[step].getAsBoolean();
      }

      @Override
      public int steps() {
        return steps.length;
      }
    };
  }
}
