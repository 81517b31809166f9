package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.updater.journal.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The version switch: a new relative link {@code .current.tmp -> versions/<v>} renamed over
 * {@code current}, then the home directory fsynced ({@link DurableFiles#replaceSymbolicLink}).
 * rename(2) replaces the link atomically, so a reader (or a crash) sees the old link or the new
 * one, never none. There is no fallback: if the file system cannot rename atomically the switch
 * fails and nothing changed.
 */
public final class Switcher {
  private Switcher() {}

  /** @throws UpgradeException SWITCH_FAILED; {@code current} is then unchanged */
  public static void switchTo(Home home, String version) {
    if (!Files.isDirectory(home.version(version), LinkOption.NOFOLLOW_LINKS)) {
      throw new UpgradeException(ErrorCode.SWITCH_FAILED, "cannot switch to " + version + ": "
          + home.version(version) + " does not exist");
    }
    try {
      DurableFiles.replaceSymbolicLink(home.current(), Path.of("versions", version));
    } catch (UpgradeException e) {
      throw new UpgradeException(ErrorCode.SWITCH_FAILED, "the file system of " + home.root()
          + " cannot rename atomically; the updater never switches versions non-atomically", e);
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.SWITCH_FAILED, "cannot switch " + home.current() + " to " + version
          + ": " + e, e);
    }
  }

  /** Removes {@code current} (undoing a first install); durable. */
  public static void removeCurrent(Home home) {
    try {
      Files.deleteIfExists(home.current());
      StateFiles.fsyncDirectory(home.root());
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.SWITCH_FAILED, "cannot remove " + home.current() + ": " + e, e);
    }
  }
}
