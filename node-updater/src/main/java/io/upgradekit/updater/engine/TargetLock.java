package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The target's update lock: an exclusive POSIX lock on {@code state/lock}, held for the whole
 * update; and the daemon lock on {@code state/daemon.lock}, held by {@code updater run} (without
 * {@code --once}) for its whole life, so that a second daemon exits at once instead of polling
 * beside the first.
 *
 * <p>The lock file is opened by this class and nothing else, never read or written: POSIX drops
 * all of a process's locks on a file when <em>any</em> channel of that process on the file is
 * closed, so a stray open-and-close elsewhere would silently unlock. The kernel releases the lock
 * when the process dies, so a {@code kill -9} never leaves a stale lock behind. The same holds for
 * the daemon lock's file.
 */
public final class TargetLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private TargetLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the update lock without waiting. Creates {@code state/} and the lock file on first use only.
   *
   * @throws UpgradeException LOCKED when another updater (or another thread here) holds it; IO_ERROR
   */
  public static TargetLock acquire(Home home) {
    return acquire(home, home.lockFile(), "another updater is working on " + home.root() + " (it holds "
        + home.lockFile() + "); this one changed nothing. Wait for it, or see 'updater status'");
  }

  /**
   * Takes the daemon lock without waiting: at most one {@code updater run} daemon per target.
   *
   * @throws UpgradeException LOCKED when another daemon holds it; IO_ERROR
   */
  public static TargetLock acquireDaemon(Home home) {
    Path file = home.state().resolve(DAEMON_LOCK);
    return acquire(home, file, "another updater daemon is running for " + home.root() + " (it holds " + file
        + "); this one exits and changed nothing. Stop the other one first (systemctl stop ...), or use "
        + "'updater run --once' for a single poll");
  }

  /** The daemon lock's file name under {@code state/}. */
  public static final String DAEMON_LOCK = "daemon.lock";

  private static TargetLock acquire(Home home, Path file, String heldMessage) {
    try {
      if (!Files.isDirectory(file.getParent())) {
        Files.createDirectories(file.getParent());
      }
      FileChannel channel = open(file);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
      if (lock == null) {
        channel.close();
        throw new UpgradeException(ErrorCode.LOCKED, heldMessage);
      }
      return new TargetLock(channel, lock);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot open the lock file " + file + ": " + e, e);
    }
  }

  /**
   * Opens a lock file. Something other than a regular file in its place (a directory, say) cannot
   * be locked by anyone, so no updater can hold it: it is moved aside (to {@code <name>.damaged-<ms>})
   * and a fresh file is created, instead of failing every run.
   */
  private static FileChannel open(Path file) throws IOException {
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      Path aside = file.resolveSibling(file.getFileName() + ".damaged-" + System.currentTimeMillis());
      try {
        DurableFiles.renameAtomically(file, aside);
      } catch (NoSuchFileException e) {
        // another updater moved it first
      }
    }
    return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      // Closing the channel is what matters; the kernel drops the lock with the process anyway.
    }
  }
}
