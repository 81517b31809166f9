package io.upgradekit.server.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.schema.store.RepositoryStore;
import io.upgradekit.server.core.NodeAccess;
import io.upgradekit.server.core.NodeCredentials;
import io.upgradekit.server.core.Secrets;
import io.upgradekit.store.s3.S3Store;
import io.upgradekit.store.s3.S3StoreConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code node-credential}: prints the credential to install on a node, and revokes, re-admits and
 * lists nodes in a repository's {@link NodeAccess} list.
 */
@Command(
    name = "node-credential",
    mixinStandardHelpOptions = true,
    versionProvider = ServerMain.Version.class,
    sortOptions = false,
    description = {
      "Prints the credential of a node: lowercase hex HMAC-SHA256(secret, node id) for its first generation."
          + " Install it on the node; the node sends 'Authorization: Basic base64(<node>:<credential>)'."
          + " With one NODE prints the credential alone; with several, one '<node> <credential>' line each.",
      "",
      "  node-credential --node-secret-file FILE [--root DIR] NODE...",
      "  node-credential --root DIR --revoke NODE [--reason TEXT]",
      "  node-credential --root DIR --node-secret-file FILE --readmit NODE",
      "  node-credential --root DIR --list",
      "  (--store s3://<bucket>/<prefix>?... instead of --root DIR for a repository in a bucket)",
      "",
      "Revoking refuses the node's credential (401 CREDENTIAL_REVOKED) on every server of the repository"
          + " within 2 s, without a restart; re-admitting gives the node its next credential generation (printed)"
          + " and keeps every earlier one refused.",
      ""
    })
final class NodeCredentialCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--node-secret-file", paramLabel = "FILE",
      description = "The server's node secret (the same file the server is started with).")
  Path secretFile;

  @Option(names = "--root", paramLabel = "DIR",
      description = "The repository the servers serve: where the list of revoked and re-admitted nodes is"
          + " (.access/nodes.json). Needed to revoke, re-admit and list; when printing, gives each node's"
          + " current generation (without it, the first generation's credential is printed).")
  Path root;

  @Option(names = "--store", paramLabel = "ADDRESS",
      description = "Instead of --root: the repository in a bucket (s3://<bucket>/<prefix>?..., as the servers'"
          + " --store), where the list is " + NodeAccess.STORE_PATH + ".")
  String store;

  @Option(names = "--revoke", paramLabel = "NODE", description = "Refuse this node's credential from now on.")
  List<String> revoke = new ArrayList<>();

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why the node is revoked (kept in the list).")
  String reason;

  @Option(names = "--readmit", paramLabel = "NODE",
      description = "Admit this node again with a new credential (printed); its earlier ones stay refused."
          + " Also rotates the credential of a node that was never revoked.")
  List<String> readmit = new ArrayList<>();

  @Option(names = "--list", description = "List the revoked and re-admitted nodes with their generation.")
  boolean list;

  @Parameters(paramLabel = "NODE", arity = "0..*", description = "Node ids ([a-z0-9][a-z0-9._-]{0,62}).")
  List<String> nodes = new ArrayList<>();

  Clock clock = Clock.systemUTC();

  @Override
  public Integer call() throws IOException {
    int actions = (nodes.isEmpty() ? 0 : 1) + (revoke.isEmpty() ? 0 : 1) + (readmit.isEmpty() ? 0 : 1) + (list ? 1 : 0);
    if (actions != 1) {
      throw usage("give NODE... to print credentials, or one of --revoke NODE, --readmit NODE, --list");
    }
    if (reason != null && revoke.isEmpty()) {
      throw usage("--reason goes with --revoke");
    }
    if (root != null && !Files.isDirectory(root)) {
      throw usage("--root " + root + " is not a directory; give the repository directory the servers serve");
    }
    if (root != null && store != null) {
      throw usage("--root and --store both name a repository: give the one the servers serve");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Access access = access()) {
      if (list) {
        listNodes(out, require(access, "--list"));
      } else if (!revoke.isEmpty()) {
        for (String node : revoke) {
          NodeAccess.Entry entry = require(access, "--revoke").revoke(node, reason, clock);
          out.println("revoked " + node + " (credential generation " + entry.generation() + ") since "
              + entry.changedAt() + "; servers on " + access.where() + " refuse it within "
              + NodeAccess.DEFAULT_REFRESH.toSeconds() + " s. Re-admit it with --readmit " + node);
        }
      } else if (!readmit.isEmpty()) {
        NodeCredentials credentials = credentials("--readmit");
        for (String node : readmit) {
          NodeAccess.Entry entry = require(access, "--readmit").readmit(node, clock);
          print(out, node, credentials.credentialFor(node, entry.generation()), readmit.size());
          err.println("re-admitted " + node + " with credential generation " + entry.generation()
              + ": install the credential printed on the node; its earlier credentials stay refused");
        }
      } else {
        NodeCredentials credentials = credentials("printing a credential");
        for (String node : nodes) {
          NodeAccess.Entry entry = access == null ? NodeAccess.ADMITTED : access.current(node);
          if (entry.revoked()) {
            throw usage("node " + node + " is revoked (since " + entry.changedAt() + "): re-admit it with --readmit "
                + node + ", which prints its new credential");
          }
          print(out, node, credentials.credentialFor(node, entry.generation()), nodes.size());
        }
      }
    } finally {
      out.flush();
      err.flush();
    }
    return ExitCodes.OK;
  }

  private void listNodes(PrintWriter out, Access access) throws IOException {
    Map<String, NodeAccess.Entry> entries = access.list();
    if (entries.isEmpty()) {
      out.println("no node was revoked or re-admitted in " + access.where() + ": every node's first-generation"
          + " credential is admitted");
      return;
    }
    out.println(String.format("%-24s %10s  %-8s  %-20s  %s", "NODE", "GENERATION", "STATE", "CHANGED", "REASON"));
    entries.forEach((node, entry) -> out.println(String.format("%-24s %10d  %-8s  %-20s  %s", node,
        entry.generation(), entry.revoked() ? "revoked" : "admitted",
        entry.changedAt() == null ? "-" : entry.changedAt(), entry.reason() == null ? "" : entry.reason())));
  }

  private static void print(PrintWriter out, String node, String credential, int count) {
    out.println(count == 1 ? credential : node + " " + credential);
  }

  private Access require(Access access, String what) {
    if (access == null) {
      throw usage(what + " needs --root DIR (or --store ADDRESS), the repository the servers serve");
    }
    return access;
  }

  /** The node access list of the repository given (--root or --store), or null without either. */
  private Access access() {
    if (store != null) {
      try {
        return new Access(null, new S3Store(S3StoreConfig.parse(store)));
      } catch (UpgradeException e) {
        throw usage("--store: " + e.getMessage());
      }
    }
    return root == null ? null : new Access(root, null);
  }

  /** The list in a directory or a store. */
  private record Access(Path root, RepositoryStore store) implements AutoCloseable {
    String where() {
      return root != null ? root.toString() : store.location();
    }

    Map<String, NodeAccess.Entry> list() throws IOException {
      return root != null ? NodeAccess.list(root) : NodeAccess.list(store);
    }

    NodeAccess.Entry current(String node) throws IOException {
      return root != null ? NodeAccess.current(root, node) : NodeAccess.current(store, node);
    }

    NodeAccess.Entry revoke(String node, String reason, Clock clock) throws IOException {
      return root != null ? NodeAccess.revoke(root, node, reason, clock) : NodeAccess.revoke(store, node, reason, clock);
    }

    NodeAccess.Entry readmit(String node, Clock clock) throws IOException {
      return root != null ? NodeAccess.readmit(root, node, clock) : NodeAccess.readmit(store, node, clock);
    }

    @Override
    public void close() throws IOException {
      if (store != null) {
        store.close();
      }
    }
  }

  private NodeCredentials credentials(String what) {
    if (secretFile == null) {
      throw usage(what + " needs --node-secret-file FILE, the secret the server is started with");
    }
    return new NodeCredentials(Secrets.readFile(secretFile, "--node-secret-file"));
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
