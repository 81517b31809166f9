package io.upgradekit.plugin;

import io.upgradekit.plugin.plan.PlanRequest;
import io.upgradekit.plugin.plan.Preview;
import io.upgradekit.plugin.plan.PreviewText;
import io.upgradekit.plugin.plan.Previewer;
import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.plugin.set.SetDescriptor;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.Quantities;
import io.upgradekit.schema.io.DurableFiles;
import io.upgradekit.schema.json.Json;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;

/**
 * Previews a rollout against the live fleet, changing nothing: a release set (from its descriptor)
 * or one release. Prints the components' order, each component's waves with their nodes (as
 * repo-server's controller would assign them now), the slots per wave, the expected durations, and
 * every problem: a cycle, an unknown component, a contract that can never be met, a {@code
 * minAvailable} the fleet cannot honour, nodes down that use up the budget. Also writes {@code
 * target/upgrade/plan.json}; {@code -Dupgrade.json} prints that JSON instead of the text.
 */
@Mojo(name = "plan", threadSafe = true)
public class PlanMojo extends UpgradeMojo {
  /**
   * Where the releases are: a directory (relative to the project) or repo-server's {@code http(s)://}
   * URL. Needed for a set; for one release not published yet the pom's {@code <rollout>} is enough.
   * No default.
   */
  @Parameter(property = "upgrade.repository")
  String repository;

  /**
   * A release set's descriptor to preview. Default: {@code release-set.yaml} in the project's
   * directory if it exists; else the project's own release ({@code <app>} {@code <version>}) is
   * previewed.
   */
  @Parameter(property = "upgrade.descriptor")
  File descriptor;

  /** The set's name, with a descriptor. Default: the artifactId. */
  @Parameter(property = "upgrade.setName", defaultValue = "${project.artifactId}")
  String setName;

  /** The set's version, with a descriptor. Default: the project version. */
  @Parameter(property = "upgrade.setVersion", defaultValue = "${project.version}")
  String setVersion;

  /** Without a descriptor: the app whose release to preview. Default: the artifactId. */
  @Parameter(property = "upgrade.app", defaultValue = "${project.artifactId}")
  String app;

  /** Without a descriptor: the release to preview. Default: the project version. */
  @Parameter(property = "upgrade.version", defaultValue = "${project.version}")
  String version;

  /** The channel whose nodes would take the releases. Default: {@code stable}. */
  @Parameter(property = "upgrade.channel", defaultValue = "stable")
  String channel;

  /**
   * The fleet: repo-server's inventory, a snapshot file ({@code fleet/inventory/<instance>.json}) or
   * the directory of them. Default: the directory repository's own {@code fleet/inventory}; required
   * with a repo-server URL (it has no API that lists the nodes yet).
   */
  @Parameter(property = "upgrade.inventory")
  File inventory;

  /** How long one node's update takes (STOP to healthy), for the expected durations: {@code 90s}, {@code 2m}. Default: 1m. */
  @Parameter(property = "upgrade.nodeTime", defaultValue = "1m")
  String nodeTime;

  /** Prints the preview as JSON (for tools) instead of text. Default: false. */
  @Parameter(property = "upgrade.json", defaultValue = "false")
  boolean json;

  /** Fails the build when the preview finds a problem (a CI gate). Default: false: problems are warnings. */
  @Parameter(property = "upgrade.failOnProblems", defaultValue = "false")
  boolean failOnProblems;

  /**
   * For a release not published yet: its plan, as {@code upgrade:release} reads it ({@code <rollout>}
   * and the {@code upgrade.rollout.*} properties). A published release is previewed with its signed
   * plan. Default: none.
   */
  @Parameter
  Rollout rollout;

  /** The project (injected; not configurable). */
  @Parameter(defaultValue = "${project}", readonly = true)
  MavenProject project;

  /** Where the JSON goes; replaced in tests. */
  PrintStream out = System.out;

  @Override
  String goal() {
    return "plan";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    Consumer<Event> events = events();
    Preview preview = MojoErrors.run(() -> {
      SetDescriptor set = descriptor();
      PlanRequest request = new PlanRequest(repository, set, setName, setVersion, app, version,
          set == null ? RolloutSettings.plan(rollout == null ? null : rollout.settings(), rolloutProperties(project))
              : null, channel, inventory == null ? null : inventory.toPath(), duration());
      return new Previewer((location, token) -> Repositories.open(location, token, baseDirectory()), baseDirectory(),
          clock, events).preview(request);
    });
    byte[] bytes = Json.canonicalBytes(preview);
    Path file = buildDirectory().resolve("upgrade").resolve("plan.json");
    try {
      Files.createDirectories(file.getParent());
      DurableFiles.writeAtomically(file, bytes);
    } catch (IOException e) {
      throw new MojoExecutionException("IO_ERROR: cannot write " + file + ": " + e, e);
    }
    if (json) {
      out.println(new String(bytes, StandardCharsets.UTF_8));
    } else {
      PreviewText.lines(preview).forEach(line -> {
        if (line.startsWith("  ") && preview.problems().stream().anyMatch(p -> line.startsWith("  " + p.code()))) {
          getLog().warn(line);
        } else {
          getLog().info(line);
        }
      });
      getLog().info("As JSON: " + file);
    }
    if (failOnProblems && !preview.problems().isEmpty()) {
      throw new MojoFailureException(preview.problems().get(0).code() + ": the preview found "
          + preview.problems().size() + " problem(s) (upgrade.failOnProblems); the first: "
          + preview.problems().get(0).message());
    }
  }

  private SetDescriptor descriptor() {
    if (descriptor != null) {
      return SetDescriptor.read(resolve(descriptor.toPath()));
    }
    Path conventional = baseDirectory().resolve("release-set.yaml");
    return Files.isRegularFile(conventional) ? SetDescriptor.read(conventional) : null;
  }

  private Duration duration() {
    try {
      return Quantities.parseDuration(nodeTime);
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(ErrorCode.CONFIG_INVALID, "<nodeTime> is '" + nodeTime + "': write "
          + Quantities.DURATION_FORMS, e);
    }
  }

  private Path buildDirectory() {
    return project == null || project.getBuild() == null ? baseDirectory().resolve("target")
        : Path.of(project.getBuild().getDirectory());
  }
}
