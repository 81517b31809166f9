package io.upgradekit.updater.engine;

import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.model.Names;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A target's home directory:
 *
 * <pre>
 * home/
 *   current -> versions/2.1.0     the truth: what runs (relative symlink, switched atomically)
 *   versions/&lt;v&gt;/                 complete, verified, read-only trees
 *   staging/                      new versions are built here (same file system as versions/)
 *   state/lock                    the update lock (opened by nothing else)
 *   state/daemon.lock             held by the daemon ({@code run} without {@code --once}) for its life
 *   state/journal.json            the unfinished update, if any
 *   state/history/                finished updates, one file each
 *   state/outbox/                 reports not yet accepted by the server
 *   state/cache/                  downloaded blobs and partial downloads (.part)
 *   state/trust/                  the newest verified trust root, last trusted sequences, ETag
 *   state/releases/               verified manifests of installed versions
 *   state/service.json            the service's original start parameters and its pid
 *   state/node.json               previous version, bad releases and deltas, crash counts
 *   state/reserve                 1 MiB kept free for state writes on a full disk (DiskFull)
 *   state/damaged/                damaged state files moved aside (the newest 16; Quarantine)
 * </pre>
 */
public record Home(Path root) {
  public static final String CURRENT = "current";

  public Home {
    root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
  }

  public Path versions() {
    return root.resolve("versions");
  }

  public Path version(String version) {
    return versions().resolve(Names.requireVersion(version));
  }

  public Path current() {
    return root.resolve(CURRENT);
  }

  public Path staging() {
    return root.resolve("staging");
  }

  public Path state() {
    return root.resolve("state");
  }

  public Path lockFile() {
    return state().resolve("lock");
  }

  public Path journal() {
    return state().resolve("journal.json");
  }

  public Path history() {
    return state().resolve("history");
  }

  public Path outbox() {
    return state().resolve("outbox");
  }

  public Path cache() {
    return state().resolve("cache");
  }

  public Path trust() {
    return state().resolve("trust");
  }

  public Path releases() {
    return state().resolve("releases");
  }

  public Path serviceFile() {
    return state().resolve("service.json");
  }

  public Path nodeFile() {
    return state().resolve("node.json");
  }

  /**
   * The version {@code current} points at, if the link exists and names a directory under {@code
   * versions/}.
   *
   * @throws UpgradeException IO_ERROR when {@code current} exists but is not such a link
   */
  public Optional<String> currentVersion() {
    Path link = current();
    try {
      Path target = Files.readSymbolicLink(link);
      if (target.getNameCount() != 2 || target.isAbsolute() || !target.getName(0).toString().equals("versions")) {
        throw new UpgradeException(ErrorCode.IO_ERROR, link + " points at " + target
            + ", not at versions/<version>: fix the link by hand (ln -sfn versions/<version> current)");
      }
      String version = target.getName(1).toString();
      if (!Files.isDirectory(version(version), LinkOption.NOFOLLOW_LINKS)) {
        throw new UpgradeException(ErrorCode.IO_ERROR, link + " points at " + target + ", which is missing");
      }
      return Optional.of(version);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (NotLinkException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, link + " is not a symbolic link: move it away; the updater "
          + "manages current as a link to versions/<version>");
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot read " + link + ": " + e, e);
    }
  }

  /** Names of the complete versions on disk, sorted. */
  public List<String> versionsOnDisk() {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(versions())) {
      return out;
    }
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(versions())) {
      for (Path dir : dirs) {
        String name = dir.getFileName().toString();
        if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && Names.isVersion(name)) {
          out.add(name);
        }
      }
    } catch (IOException e) {
      throw new UpgradeException(ErrorCode.IO_ERROR, "cannot list " + versions() + ": " + e, e);
    }
    out.sort(null);
    return out;
  }
}
