package io.upgradekit.plugin;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.Repository;
import io.upgradekit.plugin.release.RepositoryVerifier;
import io.upgradekit.plugin.release.SchemaDeltaEngine;
import io.upgradekit.schema.ErrorCode;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * Checks a whole repository, as nodes would (a directory entirely; over HTTP, everything reachable
 * from {@code <app>}'s {@code <channel>}): every signature against the trust root,
 * every blob's hash and size, every package and delta rebuilds its release's tree, every channel
 * pointer names an existing manifest and has not expired. Lists each problem with its code and
 * fails the build if there is any.
 */
@Mojo(name = "verify", requiresProject = false, threadSafe = true)
public class VerifyMojo extends UpgradeMojo {
  /**
   * The repository to check: a directory (relative to the project, or to the current directory
   * without one), a bucket ({@code s3://<bucket>/<prefix>?...}, listed like a directory), or
   * repo-server's {@code http(s)://} URL. No default.
   */
  @Parameter(property = "upgrade.repository")
  String repository;

  /**
   * For an HTTP repository, which cannot be listed: the app whose channel to start from (everything
   * reachable from it is checked). Default: the artifactId.
   */
  @Parameter(property = "upgrade.app", defaultValue = "${project.artifactId}")
  String app;

  /** For an HTTP repository: the channel to start from. Default: {@code stable}. */
  @Parameter(property = "upgrade.channel", defaultValue = "stable")
  String channel;

  /** Where scratch files go: {@code target/upgrade/verify} (injected; not configurable). */
  @Parameter(defaultValue = "${project.build.directory}", readonly = true)
  File buildDirectory;

  @Override
  String goal() {
    return "verify";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    MavenEvents events = events();
    RepositoryVerifier.Report report = MojoErrors.run(() -> {
      if (repository == null || repository.isBlank()) {
        throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<repository> is not set: run 'mvn upgrade:verify"
            + " -Dupgrade.repository=DIR'");
      }
      List<String> start = Repositories.isUrl(repository) ? List.of(app + "/" + channel) : List.of();
      try (Repository opened = Repositories.open(repository, null, baseDirectory())) {
        return new RepositoryVerifier(new SchemaDeltaEngine(events), clock, events).verify(opened, start, workDirectory());
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

  private Path workDirectory() {
    Path build = buildDirectory != null ? buildDirectory.toPath() : baseDirectory().resolve("target");
    return build.resolve("upgrade").resolve("verify");
  }
}
