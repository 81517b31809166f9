package io.upgradekit.server.cli;

import io.upgradekit.schema.UpgradeException;
import io.upgradekit.server.core.NodeCredentials;
import io.upgradekit.server.core.Secrets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code node-credential --node-secret-file FILE NODE...}: prints the credential to install on a node. */
@Command(
    name = "node-credential",
    mixinStandardHelpOptions = true,
    versionProvider = ServerMain.Version.class,
    description = {
      "Prints the credential of a node: lowercase hex HMAC-SHA256(secret, node id). Install it on the node;"
          + " the node sends 'Authorization: Basic base64(<node>:<credential>)'.",
      "With one NODE prints the credential alone; with several, one '<node> <credential>' line each."
    })
final class NodeCredentialCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--node-secret-file", paramLabel = "FILE", required = true,
      description = "The server's node secret (the same file the server is started with).")
  Path secretFile;

  @Parameters(paramLabel = "NODE", arity = "1..*", description = "Node ids ([a-z0-9][a-z0-9._-]{0,62}).")
  List<String> nodes;

  @Override
  public Integer call() {
    NodeCredentials credentials = new NodeCredentials(Secrets.readFile(secretFile, "--node-secret-file"));
    for (String node : nodes) {
      String credential;
      try {
        credential = credentials.credentialFor(node);
      } catch (UpgradeException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
      }
      spec.commandLine().getOut().println(nodes.size() == 1 ? credential : node + " " + credential);
    }
    spec.commandLine().getOut().flush();
    return ServerMain.EXIT_OK;
  }
}
