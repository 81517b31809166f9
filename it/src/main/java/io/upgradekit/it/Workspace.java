package io.upgradekit.it;

import io.upgradekit.schema.io.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;

/**
 * One scenario's private directory, and everything started in it. {@link #close()} closes what was
 * {@linkplain #own owned}, newest first (so nodes stop before the server they talk to), then
 * deletes the directory unless it is {@linkplain #keep() kept}.
 *
 * <pre>{@code
 * try (Workspace ws = Workspace.create("smoke")) {
 *   RepoServer server = ws.own(RepoServer.start(artifacts, ws.dir("repo"), ws.logs(), RepoServer.Options.defaults()));
 *   ...
 * }
 * }</pre>
 */
public final class Workspace implements AutoCloseable {
  private final Path root;
  private final Deque<AutoCloseable> owned = new ArrayDeque<>();
  private boolean keep;

  private Workspace(Path root) {
    this.root = root;
  }

  /** System property: {@code -Dupgradekit.it.keep=true} keeps every workspace (to read its logs). */
  public static final String KEEP_PROPERTY = "upgradekit.it.keep";

  /**
   * A new directory under the system's temporary directory, named {@code upgradekit-<name>-<random>};
   * kept after {@link #close()} only with {@code -Dupgradekit.it.keep=true}.
   */
  public static Workspace create(String name) {
    try {
      Workspace ws = new Workspace(Files.createTempDirectory("upgradekit-" + name + "-").toRealPath());
      ws.keep = Boolean.getBoolean(KEEP_PROPERTY);
      return ws;
    } catch (IOException e) {
      throw new HarnessException("cannot create a temporary directory: " + e, e);
    }
  }

  /** An existing (or new) directory the caller chose; never deleted unless {@link #keep(boolean) keep(false)}. */
  public static Workspace at(Path directory) {
    try {
      Files.createDirectories(directory);
      Workspace ws = new Workspace(directory.toRealPath());
      ws.keep = true;
      return ws;
    } catch (IOException e) {
      throw new HarnessException("cannot create " + directory + ": " + e, e);
    }
  }

  public Path root() {
    return root;
  }

  /** {@code root/name}, created if missing. */
  public Path dir(String name) {
    Path dir = root.resolve(name);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new HarnessException("cannot create " + dir + ": " + e, e);
    }
    return dir;
  }

  /** Where process logs go: {@code root/logs}. */
  public Path logs() {
    return dir("logs");
  }

  /** Keeps the directory after {@link #close()} (to read the logs). */
  public Workspace keep(boolean keep) {
    this.keep = keep;
    return this;
  }

  public boolean keep() {
    return keep;
  }

  /** Closes {@code resource} when this workspace closes (before the directory is deleted). */
  public synchronized <T extends AutoCloseable> T own(T resource) {
    owned.push(Objects.requireNonNull(resource, "resource"));
    return resource;
  }

  /** Closes {@code resource} now and forgets it. */
  public void release(AutoCloseable resource) throws Exception {
    synchronized (this) {
      owned.remove(resource);
    }
    resource.close();
  }

  @Override
  public void close() {
    RuntimeException first = null;
    while (true) {
      AutoCloseable next;
      synchronized (this) {
        next = owned.poll();
      }
      if (next == null) {
        break;
      }
      try {
        next.close();
      } catch (Exception e) {
        if (first == null) {
          first = e instanceof RuntimeException r ? r : new HarnessException("closing " + next + " failed: " + e, e);
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (!keep) {
      deleteTree(root);
    }
    if (first != null) {
      throw first;
    }
  }

  /** Deletes a tree, making read-only directories (installed versions are read-only) writable first. */
  public static void deleteTree(Path root) {
    try {
      FileTrees.deleteRecursively(root);
    } catch (IOException e) {
      throw new HarnessException("cannot delete " + root + ": " + e, e);
    }
  }
}
