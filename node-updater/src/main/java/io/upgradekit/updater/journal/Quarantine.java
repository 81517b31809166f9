package io.upgradekit.updater.journal;

import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.io.FileTrees;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where damaged state files go: {@code state/damaged/<UTC time>-<n>-<name>}, kept for diagnosis
 * and bounded to the newest {@value #MAX_KEPT} entries so that a file that keeps getting damaged
 * cannot fill the disk with copies. A move is a rename within {@code state/} (no copy, no extra
 * space); a file that cannot be moved is deleted instead, so damage never blocks the updater.
 */
public final class Quarantine {
  /** Damaged files kept; older ones are deleted when a new one arrives. */
  public static final int MAX_KEPT = 16;

  /** The directory's name under {@code state/}. */
  public static final String DIRECTORY = "damaged";

  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final AtomicLong COUNTER = new AtomicLong();

  private final Path dir;

  /** @param stateDir the target's {@code state/} directory */
  public Quarantine(Path stateDir) {
    this.dir = stateDir.resolve(DIRECTORY);
  }

  public Path dir() {
    return dir;
  }

  /**
   * Moves {@code file} (a file, a directory, anything) into the quarantine.
   *
   * @return where it went, or null when it could not be moved and was deleted instead (or was gone)
   */
  public Path moveAside(Path file) {
    try {
      if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        Files.delete(dir); // our own directory, replaced by something else: nothing worth keeping
      }
      Files.createDirectories(dir);
      Path aside = dir.resolve(STAMP.format(Instant.now()) + "-" + COUNTER.incrementAndGet() + "-"
          + file.getFileName());
      DurableFiles.renameAtomically(file, aside);
      prune();
      return aside;
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | RuntimeException e) {
      FileTrees.deleteQuietly(file);
      return null;
    }
  }

  /** Quarantined entries, oldest first. */
  public List<Path> entries() {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return out;
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      stream.forEach(out::add);
    } catch (IOException e) {
      return out;
    }
    out.sort(null); // names start with the UTC time
    return out;
  }

  private void prune() {
    List<Path> all = entries();
    for (int i = 0; i < all.size() - MAX_KEPT; i++) {
      FileTrees.deleteQuietly(all.get(i));
    }
  }
}
