package io.upgradekit.plugin;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.Repository;
import io.upgradekit.plugin.release.RepositoryVerifier;
import io.upgradekit.schema.ErrorCode;
import java.io.File;
import java.nio.file.Path;
import java.time.Clock;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * Checks a whole repository offline, as nodes would: every signature against the trust root,
 * every blob's hash and size, every package and delta rebuilds its release's tree, every channel
 * pointer names an existing manifest and has not expired. Lists each problem with its code and
 * fails the build if there is any.
 */
@Mojo(name = "verify", requiresProject = false, threadSafe = true)
public class VerifyMojo extends AbstractMojo {
  /** The repository to check: a directory (relative to the project, or to the current directory without one). No default. */
  @Parameter(property = "upgrade.repository")
  String repository;

  /** Skips the goal with one info line. Default: false. */
  @Parameter(property = "upgrade.skip", defaultValue = "false")
  boolean skip;

  @Parameter(defaultValue = "${session}", readonly = true, required = true)
  MavenSession session;

  @Parameter(defaultValue = "${project.build.directory}", readonly = true)
  File buildDirectory;

  Clock clock = Clock.systemUTC();

  @Override
  public void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("Skipping upgrade:verify (upgrade.skip)");
      return;
    }
    MavenEvents events = MavenEvents.forSession(getLog(), session);
    RepositoryVerifier.Report report = MojoErrors.run(() -> {
      if (repository == null || repository.isBlank()) {
        throw new ConfigurationException(ErrorCode.NAME_INVALID, "<repository> is not set: run 'mvn upgrade:verify"
            + " -Dupgrade.repository=DIR'");
      }
      if (Repositories.isUrl(repository)) {
        throw new ConfigurationException(ErrorCode.NAME_INVALID, "upgrade:verify checks a directory repository;"
            + " run it on repo-server's --root directory (an HTTP repository cannot be listed)");
      }
      try (Repository opened = Repositories.open(repository, null, baseDirectory())) {
        return new RepositoryVerifier(Engines.create(), clock, events).verify(opened, workDirectory());
      } catch (java.io.IOException e) {
        throw new io.upgradekit.schema.UpgradeException(ErrorCode.IO_ERROR, e.toString(), e);
      }
    });
    for (RepositoryVerifier.Problem problem : report.problems()) {
      getLog().error(problem.toString());
    }
    String counts = report.releases() + " releases, " + report.deltas() + " deltas, " + report.blobs() + " blobs, "
        + report.channels() + " channels";
    if (!report.ok()) {
      throw new MojoFailureException(report.problems().size() + " problem(s) in " + report.repository() + " ("
          + counts + " checked); each is listed above with its code");
    }
    getLog().info("Repository " + report.repository() + " is sound: " + counts + " verified");
  }

  private Path baseDirectory() {
    String base = session.getRequest().getBaseDirectory();
    return Path.of(base == null ? "" : base);
  }

  private Path workDirectory() {
    Path build = buildDirectory != null ? buildDirectory.toPath() : baseDirectory().resolve("target");
    return build.resolve("upgrade").resolve("verify");
  }
}
