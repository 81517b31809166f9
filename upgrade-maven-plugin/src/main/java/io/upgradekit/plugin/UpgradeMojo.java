package io.upgradekit.plugin;

import io.upgradekit.plugin.release.RolloutSettings;
import java.io.File;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;

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

  /** The build's {@code upgrade.rollout.*} properties: -D over system properties over the pom's. */
  final Map<String, String> rolloutProperties(MavenProject project) {
    Map<String, String> properties = new HashMap<>();
    List<Properties> sources = new ArrayList<>();
    if (project != null) {
      sources.add(project.getProperties());
    }
    if (session != null) {
      sources.add(session.getSystemProperties());
      sources.add(session.getUserProperties());
    }
    for (Properties source : sources) {
      if (source != null) {
        source.stringPropertyNames().stream().filter(name -> name.startsWith(RolloutSettings.PROPERTY_PREFIX))
            .forEach(name -> properties.put(name, source.getProperty(name)));
      }
    }
    return properties;
  }
}
