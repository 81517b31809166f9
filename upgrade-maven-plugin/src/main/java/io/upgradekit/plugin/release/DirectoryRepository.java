package io.upgradekit.plugin.release;

import io.upgradekit.schema.io.PointerSwap;
import io.upgradekit.schema.store.DirectoryStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * A repository in a directory (local, or a mount that keeps POSIX rename and link semantics): the
 * publisher's view of release-schema's {@link DirectoryStore}, which repo-server writes through
 * too, so both may publish into one directory.
 *
 * <p>The rules are {@link StoreRepository}'s. Channel pointers are replaced by the directory
 * store's compare-and-swap: the publisher claims the pointer's sequence in a hidden claim
 * directory (a lease naming the process; a claim whose publisher died or whose lease ran out is taken over, which fences the
 * old publisher), then compares and renames under an OS lock. Claim directories and lock files
 * are dot files, which static servers never serve.
 */
public final class DirectoryRepository extends StoreRepository {
  private final DirectoryStore directory;

  public DirectoryRepository(Path root) {
    this(root, s -> { });
  }

  /** @param progress told when a pointer swap waits for another publisher, and why */
  public DirectoryRepository(Path root, Consumer<String> progress) {
    this(root, PointerSwap.DEFAULT_LEASE, PointerSwap.DEFAULT_MAX_WAIT, Clock.systemUTC(), progress);
  }

  DirectoryRepository(Path root, Duration lease, Duration maxWait, Clock clock, Consumer<String> progress) {
    this(new DirectoryStore(root, lease, maxWait, clock, progress));
  }

  private DirectoryRepository(DirectoryStore store) {
    super(store);
    this.directory = store;
  }

  public Path root() {
    return directory.root();
  }

  /** The store this repository writes through. */
  @Override
  public DirectoryStore store() {
    return directory;
  }

  @Override
  public List<String> listFiles() throws IOException {
    if (!Files.isDirectory(root())) {
      throw new NoSuchFileException(root().toString(), null, "the repository directory does not exist");
    }
    return super.listFiles();
  }

  @Override
  public void close() {}
}
