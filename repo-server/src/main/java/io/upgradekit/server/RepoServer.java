package io.upgradekit.server;

import java.net.URI;
import java.time.Clock;
import java.util.Objects;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A running repository server. Start one with {@link #start(ServerConfig)}; {@link #close()}
 * stops it gracefully (requests in flight finish, up to the configured stop timeout).
 */
public final class RepoServer implements AutoCloseable {
  private final Server server;

  private RepoServer(Server server) {
    this.server = server;
  }

  /**
   * Opens the repository (trust root, feedback index), binds and starts serving.
   *
   * @throws io.upgradekit.schema.UpgradeException CONFIG_INVALID when the root is not a directory or a
   *     secret file is unusable, a verification code when the repository's trust root does not
   *     verify, IO_ERROR when the node access list cannot be read
   * @throws Exception when the port cannot be bound or Jetty fails to start
   */
  public static RepoServer start(ServerConfig config) throws Exception {
    return start(config, Clock.systemUTC());
  }

  public static RepoServer start(ServerConfig config, Clock clock) throws Exception {
    Server server = HttpServerFactory.create(Objects.requireNonNull(config, "config"), clock);
    try {
      server.start();
    } catch (Exception e) {
      server.stop();
      throw e;
    }
    return new RepoServer(server);
  }

  /** The bound port (useful with port 0). */
  public int port() {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  public URI uri() {
    String host = ((ServerConnector) server.getConnectors()[0]).getHost();
    if (host == null || host.equals("0.0.0.0")) {
      host = "127.0.0.1";
    }
    return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/");
  }

  /** Blocks until the server has stopped (e.g. by SIGTERM through the shutdown hook). */
  public void join() throws InterruptedException {
    server.join();
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }
}
