package io.upgradekit.updater.testsupport;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The repository simulator ({@link RepoSimulator}) under the name the older tests use: serves a
 * repository directory on 127.0.0.1 (ETag/304, Range/206) and takes feedback and claims like
 * repo-server.
 */
public final class TestRepoServer extends RepoSimulator {
  public TestRepoServer(Path root) throws IOException {
    super(root);
  }

  /** A server on a given port (0: any free one). */
  public TestRepoServer(Path root, int port) throws IOException {
    super(root, port);
  }
}
