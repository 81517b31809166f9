package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.FileTrees;
import io.upgradekit.schema.model.ReleaseManifest;
import io.upgradekit.updater.journal.DiskFull;
import io.upgradekit.updater.journal.StateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * STAGE: builds {@code versions/<v>} beside the running version. The tree is applied into a fresh
 * directory under {@code staging/} (same file system as {@code versions/}, so the final rename is
 * atomic), every file is verified against the signed manifest, everything is fsynced and made
 * read-only, and only then renamed into place. A half-built version is never under {@code
 * versions/}.
 */
public final class Stager {
  private final Home home;
  private final PayloadApplier applier;

  public Stager(Home home, PayloadApplier applier) {
    this.home = home;
    this.applier = applier;
  }

  /**
   * Makes {@code versions/<v>} complete and verified.
   *
   * @param baseVersion the installed version the blob is a delta from, or null for the full package
   * @return true if the version was built now, false if a verified copy was already there
   * @throws UpgradeException HASH_MISMATCH and the delta engine's codes (refusals), DISK_FULL (ENOSPC or
   *     EDQUOT while writing; the partial tree is deleted first), STAGE_FAILED, IO_ERROR
   */
  public boolean stage(ReleaseManifest manifest, Path blob, String baseVersion) {
    Path target = home.version(manifest.version());
    Path work = null;
    try {
      Files.createDirectories(home.versions());
      Files.createDirectories(home.staging());
      if (Files.isDirectory(target)) {
        try {
          Trees.verify(target, manifest.payload());
          return false;
        } catch (UpgradeException e) {
          FileTrees.deleteRecursively(target); // left by an older, different build of the same version
          StateFiles.fsyncDirectory(home.versions());
        }
      }
      if (!Files.getFileStore(home.staging()).equals(Files.getFileStore(home.versions()))) {
        throw new UpgradeException(ErrorCode.STAGE_FAILED, home.staging() + " and " + home.versions()
            + " are on different file systems, so the new version cannot be renamed into place atomically");
      }
      work = home.staging().resolve(manifest.version() + "." + UUID.randomUUID());
      applier.apply(blob, baseVersion == null ? null : home.version(baseVersion), work, manifest.treeHash());
      if (!Files.isDirectory(work)) {
        throw new UpgradeException(ErrorCode.STAGE_FAILED, "the payload applier left no directory at " + work);
      }
      Trees.verify(work, manifest.payload());
      Trees.sealReadOnly(work);
      try {
        DurableFiles.renameAtomically(work, target); // forces versions/ and staging/
      } catch (UpgradeException e) {
        throw new UpgradeException(ErrorCode.STAGE_FAILED, "cannot stage " + manifest.version() + ": "
            + e.getMessage(), e);
      }
      work = null;
      return true;
    } catch (IOException | RuntimeException e) {
      if (DiskFull.isDiskFull(e)) {
        // The half-built tree (and any other staging leftover) goes before the failure is
        // recorded, so the journal, history and report have the space they need.
        try {
          cleanStaging();
        } catch (UpgradeException ignored) {
          // the work directory is deleted below in any case
        }
        throw new UpgradeException(ErrorCode.DISK_FULL, "the file system of " + home.root() + " ran out of space "
            + "while staging " + manifest.version() + " (its tree is " + manifest.payload().totalSize() + " bytes, "
            + "more on disk with many small files); the partial tree was deleted and the live version is "
            + "untouched: free some space (old logs, files outside the updater) and run again", e);
      }
      if (e instanceof RuntimeException r) {
        throw r;
      }
      throw new UpgradeException(ErrorCode.STAGE_FAILED, "cannot stage " + manifest.version() + " in " + target
          + ": " + e, e);
    } finally {
      if (work != null) {
        try {
          FileTrees.deleteRecursively(work);
        } catch (IOException ignored) {
          // cleanStaging() removes it on the next run
        }
      }
    }
  }

  /** Removes leftovers of interrupted stagings (never anything under versions/). */
  public void cleanStaging() {
    try {
      if (Files.isDirectory(home.staging())) {
        try (var dirs = Files.list(home.staging())) {
          for (Path p : (Iterable<Path>) dirs::iterator) {
            FileTrees.deleteRecursively(p);
          }
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot clean " + home.staging() + ": " + e, e);
    }
  }
}
