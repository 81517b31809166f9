package io.upgradekit.plugin;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.KeyGenerator;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.SigningKeys;
import io.upgradekit.schema.sign.SigningKey;
import java.nio.file.Files;
import io.upgradekit.schema.ErrorCode;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * Creates an Ed25519 release key: {@code <keyFile>} (private and public PEM blocks, mode 0600) and
 * {@code <keyFile>.pub}, and prints its key id. Never overwrites a key. With {@code <repository>}
 * naming a directory or a bucket without a trust root, also writes the repository's first trust
 * root ({@code root.json} and {@code roots/1.root.json}) naming this key for the root, release and
 * rollout roles, so a new user starts from nothing with {@code keygen} then {@code release}.
 */
@Mojo(name = "keygen", requiresProject = false, threadSafe = true)
public class KeygenMojo extends UpgradeMojo {
  /** The private key file to create; {@code <keyFile>.pub} gets the public key. Keep it outside the project. No default. */
  @Parameter(property = "upgrade.keyFile")
  File keyFile;

  /**
   * A repository to give a first trust root naming the new key, if it has none yet: a directory
   * (relative paths resolve against the current directory) or the {@code s3://<bucket>/<prefix>}
   * address of a bucket (see {@code release}'s {@code <repository>}). Optional; no default.
   */
  @Parameter(property = "upgrade.repository")
  String repository;

  /**
   * The repository's offline root key file (written by an earlier {@code keygen}), to keep the root
   * role apart from the new key: a new repository's first trust root then names the root key for
   * the root role and the new key for the release and rollout roles; a repository whose root role
   * this key holds gets its next trust root version with the new key added to the release role.
   * Optional; no default.
   */
  @Parameter(property = "upgrade.rootKeyFile")
  File rootKeyFile;

  /**
   * Key ids to take out of the trust root in the same rotation (with {@code <rootKeyFile>}): a leaked
   * or retired release key; a revoked rollout key is replaced by the new key. Nodes refuse what only
   * those keys signed from the next poll on. Comma-separated as a property. Default: none.
   */
  @Parameter(property = "upgrade.revokeKeys")
  List<String> revokeKeys;

  /** Days until the new trust root expires; rotate it before then. Default: 365. */
  @Parameter(property = "upgrade.rootExpiryDays", defaultValue = "365")
  int rootExpiryDays;

  @Override
  String goal() {
    return "keygen";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    MavenEvents events = events();
    MojoErrors.run(() -> new KeyGenerator(clock, events).generate(new KeyGenerator.Request(
        keyFile == null ? null : resolve(keyFile.toPath()), repositoryLocation(), rootKey(),
        Duration.ofDays(rootExpiryDays), revokeKeys)));
  }

  private SigningKey rootKey() {
    if (rootKeyFile == null) {
      return null;
    }
    if (repository == null || repository.isBlank()) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<rootKeyFile> signs a trust root: set <repository>"
          + " (-Dupgrade.repository=DIR) to the repository it is for");
    }
    Path file = resolve(rootKeyFile.toPath());
    if (!Files.isRegularFile(file)) {
      throw new ConfigurationException(ErrorCode.KEY_INVALID, "<rootKeyFile> " + file + " does not exist: create the"
          + " root key first with 'mvn upgrade:keygen -Dupgrade.keyFile=" + file + "' (on the offline machine)");
    }
    return SigningKeys.load(file, null, events());
  }

  private String repositoryLocation() {
    if (repository == null || repository.isBlank()) {
      return null;
    }
    if (Repositories.isUrl(repository)) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "upgrade:keygen writes a trust root only into a"
          + " directory or a bucket: set <repository> to repo-server's --root directory or --store address (or"
          + " publish roots/1.root.json with PUT /v1/roots/1)");
    }
    return Repositories.isObjectStore(repository) ? repository : resolve(Path.of(repository)).toString();
  }
}
