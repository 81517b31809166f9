package io.upgradekit.plugin;

import java.io.File;
import java.nio.file.Path;
import java.time.Clock;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;

/** What every goal shares: {@code <skip>}, the session for console output, and path resolution. */
abstract class UpgradeMojo extends AbstractMojo {
  /** Skips the goal with one info line. Default: false. */
  @Parameter(property = "upgrade.skip", defaultValue = "false")
  boolean skip;

  /** The Maven session, for batch mode (injected; not configurable). */
  @Parameter(defaultValue = "${session}", readonly = true, required = true)
  MavenSession session;

  /** Relative paths resolve against this: the project's directory, or where mvn runs without a project. */
  @Parameter(defaultValue = "${basedir}", readonly = true)
  File basedir;

  Clock clock = Clock.systemUTC();

  /** The goal's name, for the skip line. */
  abstract String goal();

  /** The goal's work, when it is not skipped. */
  abstract void run() throws MojoExecutionException, MojoFailureException;

  @Override
  public final void execute() throws MojoExecutionException, MojoFailureException {
    if (skip) {
      getLog().info("Skipping upgrade:" + goal() + " (upgrade.skip)");
      return;
    }
    run();
  }

  final MavenEvents events() {
    return MavenEvents.forSession(getLog(), session);
  }

  final Path baseDirectory() {
    return basedir == null ? Path.of("").toAbsolutePath() : basedir.toPath();
  }

  final Path resolve(Path path) {
    return baseDirectory().resolve(path);
  }
}
