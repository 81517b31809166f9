package io.upgradekit.plugin;

import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.set.ReactorSet;
import io.upgradekit.plugin.set.SetDescriptor;
import io.upgradekit.plugin.set.SetPublisher;
import io.upgradekit.plugin.set.SetRequest;
import io.upgradekit.plugin.set.SetResult;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.model.Plugin;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;
import org.codehaus.plexus.util.xml.Xpp3Dom;

/**
 * Publishes a release set: several components (apps at one version each, already released) with
 * their dependencies, upgraded across their nodes in dependency order, from a descriptor file or,
 * without one, from the build's modules (each module that {@code upgrade:release} releases is a
 * component; a module depending on another component's module comes after it). It runs once per
 * build, after the goals before it ran in every module ({@code mvn package upgrade:release
 * upgrade:release-set} releases every module first).
 * Checks the set (no cycle, no unknown or duplicate component, bounded, contracts it can meet) and
 * that every component's release is published with a rollout plan, before it writes anything; then
 * signs {@code sets/<setName>/<setVersion>.json} and writes {@code target/upgrade/release-set.json}.
 * Sets are immutable: the same set again changes nothing, another under a published version fails.
 */
@Mojo(name = "release-set", aggregator = true, threadSafe = true)
public class ReleaseSetMojo extends PublishingMojo {
  /**
   * The descriptor: {@code components} (each {@code name}, {@code version}, {@code depends_on}),
   * {@code strategy}, {@code rollback_policy} and optional {@code contracts} (docs/release-sets.md).
   * Default: {@code release-set.yaml} in the project's directory; in a multi-module build without
   * that file, the set is made of the build's modules ({@code <setStrategy>}, {@code
   * <setRollbackPolicy>}, {@code <contracts>}).
   */
  @Parameter(property = "upgrade.descriptor", defaultValue = "${basedir}/release-set.yaml")
  File descriptor;

  /** The set's name (a system, e.g. {@code shop}): lowercase letters, digits, '.', '_', '-'. Default: the artifactId. */
  @Parameter(property = "upgrade.setName", defaultValue = "${project.artifactId}")
  String setName;

  /** The set's version; immutable once published. Default: the project version. */
  @Parameter(property = "upgrade.setVersion", defaultValue = "${project.version}")
  String setVersion;

  /**
   * Without a descriptor file, the set's strategy: {@code rolling} (dependencies first, independent
   * components in parallel) or {@code sequential} (one at a time). Default: rolling.
   */
  @Parameter(property = "upgrade.setStrategy", defaultValue = "rolling")
  String setStrategy;

  /**
   * Without a descriptor file, what a failed component does to the set: {@code auto} (the rolled
   * components go back top-down) or {@code manual} (the set halts). Default: manual.
   */
  @Parameter(property = "upgrade.setRollbackPolicy", defaultValue = "manual")
  String setRollbackPolicy;

  /**
   * Without a descriptor file, the compatibility contracts, one per {@code <contract>}: {@code api 2.x
   * requires cache >= 2.0}. Default: none.
   */
  @Parameter
  List<String> contracts;

  /** Days from the build timestamp until the set expires and readers refuse it. Default: 1826 (five years). */
  @Parameter(property = "upgrade.setExpiryDays", defaultValue = "1826")
  int setExpiryDays;

  /** The plugin's key in a module's build: {@code groupId:artifactId}. */
  static final String PLUGIN_KEY = "io.upgradekit:upgrade-maven-plugin";

  @Override
  String goal() {
    return "release-set";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    Consumer<Event> events = events();
    SetResult result = MojoErrors.run(() -> {
      Token token = token();
      SetDescriptor parsed = descriptor();
      SetRequest request = new SetRequest(setName, setVersion, parsed, repository, token.value(), signingKey(events),
          timestamp(events), Duration.ofDays(setExpiryDays), summaryFile());
      return new SetPublisher((location, value) -> Repositories.open(location, value, token.source(), baseDirectory(),
          message -> events.accept(Event.info(message))), clock, events).publish(request);
    });
    getLog().info((result.status() == SetResult.Status.PUBLISHED ? "Released set " : "Already published, nothing"
        + " changed: set ") + result.name() + " " + result.version() + " -> " + result.repository() + " ("
        + result.path() + ")");
    for (SetResult.Component c : result.components()) {
      getLog().info("  " + c.app() + " " + c.version() + ": rollout " + c.rollout());
    }
    getLog().info("  order: " + String.join(" -> ", result.order()));
    getLog().info("  summary for CI: " + summaryFile());
  }

  /** The descriptor file if there is one; else, in a multi-module build, the set of its modules. */
  private SetDescriptor descriptor() {
    Path file = resolve(descriptor == null ? Path.of("release-set.yaml") : descriptor.toPath());
    List<MavenProject> projects = session == null ? List.of() : session.getProjects();
    if (Files.exists(file) || projects.size() < 2) {
      return SetDescriptor.read(file);
    }
    List<ReactorSet.Module> modules = new ArrayList<>();
    for (MavenProject module : projects) {
      Plugin plugin = module.getPlugin(PLUGIN_KEY);
      Xpp3Dom configuration = plugin == null ? null : (Xpp3Dom) plugin.getConfiguration();
      boolean payload = configuration != null && configuration.getChild("payload") != null;
      boolean skipped = configuration != null && configuration.getChild("skip") != null
          && "true".equals(configuration.getChild("skip").getValue());
      if (plugin == null || skipped || ("pom".equals(module.getPackaging()) && !payload)) {
        continue;
      }
      modules.add(new ReactorSet.Module(module.getGroupId() + ":" + module.getArtifactId(),
          value(configuration, "app", module.getArtifactId()), value(configuration, "version", module.getVersion()),
          module.getDependencies().stream().map(d -> d.getGroupId() + ":" + d.getArtifactId()).toList()));
    }
    getLog().info("No " + file.getFileName() + ": the set is the build's " + modules.size() + " modules that release"
        + " a component");
    return ReactorSet.descriptor(modules, setStrategy, setRollbackPolicy, contracts == null ? List.of() : contracts);
  }

  private static String value(Xpp3Dom configuration, String name, String fallback) {
    Xpp3Dom child = configuration == null ? null : configuration.getChild(name);
    return child == null || child.getValue() == null || child.getValue().isBlank() ? fallback : child.getValue().strip();
  }

  private Path summaryFile() {
    String build = project == null ? baseDirectory().resolve("target").toString() : project.getBuild().getDirectory();
    return Path.of(build, "upgrade", "release-set.json");
  }
}
