package io.upgradekit.plugin;

import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.set.SetDescriptor;
import io.upgradekit.plugin.set.SetPublisher;
import io.upgradekit.plugin.set.SetRequest;
import io.upgradekit.plugin.set.SetResult;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * Publishes a release set: several components (apps at one version each, already released) with
 * their dependencies, upgraded across their nodes in dependency order, from a descriptor file.
 * Checks the set (no cycle, no unknown or duplicate component, bounded, contracts it can meet) and
 * that every component's release is published with a rollout plan, before it writes anything; then
 * signs {@code sets/<setName>/<setVersion>.json} and writes {@code target/upgrade/release-set.json}.
 * Sets are immutable: the same set again changes nothing, another under a published version fails.
 */
@Mojo(name = "release-set", threadSafe = true)
public class ReleaseSetMojo extends PublishingMojo {
  /**
   * The descriptor: {@code components} (each {@code name}, {@code version}, {@code depends_on}),
   * {@code strategy}, {@code rollback_policy} and optional {@code contracts} (docs/release-sets.md).
   * Default: {@code release-set.yaml} in the project's directory.
   */
  @Parameter(property = "upgrade.descriptor", defaultValue = "${basedir}/release-set.yaml")
  File descriptor;

  /** The set's name (a system, e.g. {@code shop}): lowercase letters, digits, '.', '_', '-'. Default: the artifactId. */
  @Parameter(property = "upgrade.setName", defaultValue = "${project.artifactId}")
  String setName;

  /** The set's version; immutable once published. Default: the project version. */
  @Parameter(property = "upgrade.setVersion", defaultValue = "${project.version}")
  String setVersion;

  /** Days from the build timestamp until the set expires and readers refuse it. Default: 1826 (five years). */
  @Parameter(property = "upgrade.setExpiryDays", defaultValue = "1826")
  int setExpiryDays;

  @Override
  String goal() {
    return "release-set";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    Consumer<Event> events = events();
    SetResult result = MojoErrors.run(() -> {
      Token token = token();
      SetDescriptor parsed = SetDescriptor.read(resolve(descriptor == null ? Path.of("release-set.yaml")
          : descriptor.toPath()));
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

  private Path summaryFile() {
    String build = project == null ? baseDirectory().resolve("target").toString() : project.getBuild().getDirectory();
    return Path.of(build, "upgrade", "release-set.json");
  }
}
