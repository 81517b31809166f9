package io.upgradekit.it;

import io.upgradekit.it.load.LoadGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * A repository server and the nodes that follow it, in one {@link Workspace}: the server on the
 * repository directory, the node updater unpacked once, and per node its credential (from the
 * server's {@code node-credential} command), directory and configuration.
 *
 * <pre>{@code
 * Fleet fleet = Fleet.start(ws, artifacts, repoDir, List.of(
 *     NodeConfig.defaults("node-1", Strategy.RESTART, Ports.freeLoopbackPort()), ...));
 * fleet.startDaemons();
 * fleet.awaitCommitted("1.0.0", Duration.ofMinutes(2));
 * }</pre>
 *
 * <p>Everything it starts is owned by the workspace, so closing the workspace stops it (nodes
 * first, then the server).
 */
public final class Fleet {
  private final Workspace workspace;
  private RepoServer server;
  private final UpdaterInstall updater;
  private final Map<String, Node> nodes;

  private Fleet(Workspace workspace, RepoServer server, UpdaterInstall updater, Map<String, Node> nodes) {
    this.workspace = workspace;
    this.server = server;
    this.updater = updater;
    this.nodes = nodes;
  }

  /**
   * Starts repo-server on {@code repository} (which holds a trust root) and sets up the nodes
   * (nothing runs on them yet: {@link #startDaemons()} or {@link Node#runOnce}).
   */
  public static Fleet start(Workspace ws, Artifacts artifacts, Path repository, List<NodeConfig> configs) {
    return start(ws, artifacts, repository, configs, RepoServer.Options.defaults());
  }

  public static Fleet start(Workspace ws, Artifacts artifacts, Path repository, List<NodeConfig> configs,
      RepoServer.Options serverOptions) {
    RepoServer server = ws.own(RepoServer.start(artifacts, repository, ws.dir("server-secrets"), ws.logs(),
        serverOptions));
    UpdaterInstall updater = UpdaterInstall.unpack(artifacts.updaterDist(), ws.dir("node-updater"));
    Map<String, String> credentials = server.nodeCredentials(configs.stream().map(NodeConfig::nodeId).toList());
    Map<String, Node> nodes = new LinkedHashMap<>();
    for (NodeConfig c : configs) {
      nodes.put(c.nodeId(), Node.create(c, updater, ws.dir("nodes/" + c.nodeId()), server.url(),
          repository.resolve("root.json"), credentials.get(c.nodeId()), ws.logs()));
    }
    Fleet fleet = new Fleet(ws, server, updater, nodes);
    ws.own(fleet::closeNodes);
    return fleet;
  }

  public RepoServer server() {
    return server;
  }

  public UpdaterInstall updater() {
    return updater;
  }

  public List<Node> nodes() {
    return List.copyOf(nodes.values());
  }

  public Node node(String id) {
    return Optional.ofNullable(nodes.get(id)).orElseThrow(() -> new IllegalArgumentException("no node " + id));
  }

  /** Starts every node's daemon ({@code bin/updater run}). */
  public void startDaemons() {
    nodes.values().forEach(Node::startDaemon);
  }

  /** Each node's daemon log mark (see {@link Node#mark()}), to wait for results after this moment. */
  public Map<String, Long> marks() {
    Map<String, Long> marks = new LinkedHashMap<>();
    nodes.values().forEach(n -> marks.put(n.id(), n.mark()));
    return marks;
  }

  /** Waits, for every node in parallel, until its daemon committed {@code version} (since it started). */
  public void awaitCommitted(String version, Duration timeout) {
    Map<String, Long> zero = new LinkedHashMap<>();
    nodes.keySet().forEach(id -> zero.put(id, 0L));
    awaitCommitted(version, zero, timeout);
  }

  /** Waits, for every node in parallel, until its daemon committed {@code version} after its mark. */
  public void awaitCommitted(String version, Map<String, Long> marks, Duration timeout) {
    forEachNode(n -> n.awaitCommitted(version, marks.getOrDefault(n.id(), 0L), timeout));
  }

  /** Runs {@code action} on every node in parallel and returns the results by node id. */
  public <T> Map<String, T> forEachNode(Function<Node, T> action) {
    Map<String, CompletableFuture<T>> futures = new LinkedHashMap<>();
    for (Node n : nodes.values()) {
      futures.put(n.id(), CompletableFuture.supplyAsync(() -> action.apply(n)));
    }
    Map<String, T> out = new LinkedHashMap<>();
    List<Throwable> errors = new ArrayList<>();
    futures.forEach((id, f) -> {
      try {
        out.put(id, f.get());
      } catch (ExecutionException | CompletionException e) {
        errors.add(e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        errors.add(e);
      }
    });
    if (!errors.isEmpty()) {
      RuntimeException first = errors.get(0) instanceof RuntimeException r ? r
          : new HarnessException(errors.get(0).toString(), errors.get(0));
      errors.subList(1, errors.size()).forEach(first::addSuppressed);
      throw first;
    }
    return out;
  }

  /** A load generator builder with every node's service as a target, at {@code rate} requests per second. */
  public LoadGenerator.Builder load(int rate) {
    LoadGenerator.Builder b = LoadGenerator.builder().rate(rate);
    nodes.values().forEach(n -> b.target(n.id(), n.serviceUrl()));
    return b;
  }

  /** Stops every node (daemon and services) in parallel: each may take seconds to drain. */
  void closeNodes() {
    forEachNode(n -> {
      n.close();
      return true;
    });
  }

  /** Restarts repo-server on the same port after {@code downtime} with the port closed. */
  public RepoServer restartServer(Duration downtime) {
    server = workspace.own(server.restart(downtime));
    return server;
  }

  /** {@code kill -9} of repo-server (see {@link RepoServer#kill}); {@link #restartServerAfterKill} brings it back. */
  public void killServer() {
    server.kill();
  }

  /** Starts repo-server again on the same port after {@link #killServer} (owned by the workspace). */
  public RepoServer restartServerAfterKill() {
    server = workspace.own(server.restartAfterKill());
    return server;
  }

  /**
   * A second repo-server process on the same repository ({@link RepoServer#another}), owned by the
   * workspace; nodes keep talking to the first until {@linkplain Node#writeConfig pointed} at it.
   */
  public RepoServer startAnotherServer(String instance) {
    return workspace.own(server.another(instance));
  }

  /** Restarts repo-server on the same port (its old process stopped, the new one owned by the workspace). */
  public RepoServer restartServer() {
    server = workspace.own(server.restart());
    return server;
  }
}
