package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The target's update lock: an exclusive POSIX lock on {@code state/lock}, held for the whole
 * update.
 *
 * <p>The lock file is opened by this class and nothing else, never read or written: POSIX drops
 * all of a process's locks on a file when <em>any</em> channel of that process on the file is
 * closed, so a stray open-and-close elsewhere would silently unlock. The kernel releases the lock
 * when the process dies, so a {@code kill -9} never leaves a stale lock behind.
 */
public final class TargetLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private TargetLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock without waiting. Creates {@code state/} and the lock file on first use only.
   *
   * @throws UpgradeException LOCKED when another updater (or another thread here) holds it; IO_ERROR
   */
  public static TargetLock acquire(Home home) {
    Path file = home.lockFile();
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(file.getParent());
      }
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
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
        throw new UpgradeException(ErrorCode.LOCKED, "another updater is working on " + home.root()
            + " (it holds " + file + "); this one changed nothing. Wait for it, or see 'updater status'");
      }
      return new TargetLock(channel, lock);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot open the lock file " + file + ": " + e, e);
    }
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
