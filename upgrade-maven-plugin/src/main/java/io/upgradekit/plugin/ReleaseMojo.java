package io.upgradekit.plugin;

import io.upgradekit.plugin.release.ConfigurationException;
import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.ReleaseBuilder;
import io.upgradekit.plugin.release.ReleaseRequest;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.schema.model.Names;
import org.apache.maven.model.Plugin;
import org.apache.maven.project.MavenProject;
import org.codehaus.plexus.util.xml.Xpp3Dom;
import io.upgradekit.plugin.release.SchemaDeltaEngine;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.Sizes;
import io.upgradekit.schema.ErrorCode;
import io.upgradekit.schema.model.RolloutPlan;
import io.upgradekit.schema.sign.SigningKey;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;

/**
 * Publishes the build as a signed release: the full package, binary deltas from the channel's
 * latest releases (each applied to prove it), a signed release manifest and a new signed channel
 * pointer, in that order, into a directory, a bucket or a repo-server. Writes {@code
 * target/upgrade/release.json}. Versions are immutable: the same content again changes nothing,
 * other content under a published version fails.
 */
@Mojo(name = "release", defaultPhase = LifecyclePhase.DEPLOY, threadSafe = true)
public class ReleaseMojo extends PublishingMojo {
  /** The app's name in the repository: lowercase letters, digits, '.', '_', '-'. Default: the artifactId. */
  @Parameter(property = "upgrade.app", defaultValue = "${project.artifactId}")
  String app;

  /** The version to publish; immutable once published. Default: the project version. */
  @Parameter(property = "upgrade.version", defaultValue = "${project.version}")
  String version;

  /** The channel whose pointer moves to this release. Default: {@code stable}. */
  @Parameter(property = "upgrade.channel", defaultValue = "stable")
  String channel;

  /**
   * What to release: a jar/war (a one-file tree named {@code <app>.<extension>}), an assembly
   * {@code .zip}/{@code .tar.gz} (unpacked; a single top directory is dropped) or a directory.
   * Default: the project's main artifact, so run {@code package} first; {@code pom} projects
   * without a payload are skipped.
   */
  @Parameter(property = "upgrade.payload")
  File payload;

  /**
   * How many of the channel's latest releases to build deltas from (the pointer's release and its
   * {@code previous} list), 0 to 32. Default: 3.
   */
  @Parameter(property = "upgrade.deltaCount", defaultValue = "3")
  int deltaCount;

  /**
   * Days from the build timestamp until the release manifest expires and nodes refuse it. A
   * manifest is immutable, so this is long. Default: 1826 (five years).
   */
  @Parameter(property = "upgrade.manifestExpiryDays", defaultValue = "1826")
  int manifestExpiryDays;

  /**
   * Days from the build timestamp until the channel pointer expires; a channel must see a release
   * within this time, or nodes stop trusting it (a frozen mirror cannot hold them back for ever).
   * Default: 365.
   */
  @Parameter(property = "upgrade.pointerExpiryDays", defaultValue = "365")
  int pointerExpiryDays;

  /** Free-form build information signed into the manifest (e.g. commit, CI job). Default: none. */
  @Parameter
  Map<String, String> labels;

  /**
   * How the release rolls out over the fleet, signed into the manifest: {@code <strategy>}, {@code
   * <canary>}, {@code <minAvailable>}, {@code <bakeTime>}, {@code <maxFailures>}, {@code <approval>},
   * {@code <rollbackPolicy>} ({@code <mode>}, {@code <errorRateFactor>}, {@code <latencyFactor>},
   * {@code <window>}, {@code <combine>}), {@code <waveLabel>} and {@code <set>} (the release set that
   * rolls it out). The properties {@code upgrade.rollout.strategy}, {@code .canary}, {@code
   * .minAvailable}, {@code .bakeTime}, {@code .maxFailures}, {@code .approval}, {@code
   * .rollbackPolicy.mode} and {@code .set} override their element (an empty one removes it). When
   * {@code upgrade:release-set} runs later in the same build, a plan without {@code <set>} names that
   * set. Default: none, and no property: nodes install the release as soon as they see it.
   */
  @Parameter
  Rollout rollout;

  @Override
  String goal() {
    return "release";
  }

  @Override
  void run() throws MojoExecutionException, MojoFailureException {
    if (payload == null && "pom".equals(project.getPackaging())) {
      getLog().info("Skipping upgrade:release: pom packaging has no payload (set <payload> to release one)");
      return;
    }
    Consumer<Event> events = events();
    ReleaseResult result = MojoErrors.run(() -> {
      Token token = token();
      ReleaseRequest request = request(events, token);
      return new ReleaseBuilder(new SchemaDeltaEngine(events), (location, value) -> Repositories.open(location, value,
          token.source(), baseDirectory(), message -> events.accept(Event.info(message))), clock, events)
          .release(request);
    });
    summarize(result);
  }

  private ReleaseRequest request(Consumer<Event> events, Token token) {
    RolloutPlan plan = rolloutPlan();
    SigningKey key = signingKey(events);
    Instant timestamp = timestamp(events);
    Path target = Path.of(project.getBuild().getDirectory(), "upgrade");
    return new ReleaseRequest(app, version, channel, payloadPath(), repository, token.value(), key, deltaCount,
        timestamp, days(manifestExpiryDays), days(pointerExpiryDays), labels, target.resolve("work"),
        target.resolve("release.json"), ReleaseRequest.DEFAULT_POINTER_ATTEMPTS, plan);
  }

  /**
   * The plan from {@code <rollout>} and the {@code upgrade.rollout.*} properties, or null for none; a
   * plan without {@code <set>} names the set that {@code upgrade:release-set} publishes later in this
   * build, so repo-server holds the release until that set is published (it is, seconds later).
   */
  RolloutPlan rolloutPlan() {
    RolloutPlan plan = RolloutSettings.plan(rollout == null ? null : rollout.settings(), rolloutProperties(project));
    if (plan != null && plan.set() == null) {
      String set = setOfThisBuild();
      if (set != null) {
        getLog().info("The plan names release set " + set + ": upgrade:release-set runs later in this build, and"
            + " repo-server holds the rollout until the set lists the release");
        plan = plan.withSet(set);
      }
    }
    return plan;
  }

  /**
   * The set {@code upgrade:release-set} publishes later in this build, when it is on the command
   * line: its {@code upgrade.setName} property, else the top project's {@code <setName>}, else the top
   * project's artifactId (the goal's default); null when the goal does not run or the name is not a
   * set name.
   */
  String setOfThisBuild() {
    if (session == null || session.getGoals() == null
        || session.getGoals().stream().noneMatch(g -> g.equals("release-set") || g.endsWith(":release-set"))) {
      return null;
    }
    String name = session.getUserProperties().getProperty("upgrade.setName",
        session.getSystemProperties().getProperty("upgrade.setName"));
    MavenProject top = session.getTopLevelProject() != null ? session.getTopLevelProject() : project;
    if (name == null && top != null) {
      Plugin plugin = top.getPlugin(ReleaseSetMojo.PLUGIN_KEY);
      Xpp3Dom configuration = plugin == null ? null : (Xpp3Dom) plugin.getConfiguration();
      Xpp3Dom child = configuration == null ? null : configuration.getChild("setName");
      name = child != null && child.getValue() != null && !child.getValue().contains("${") ? child.getValue().strip()
          : top.getArtifactId();
    }
    return name != null && Names.isLowercaseName(name) ? name : null;
  }

  private Path payloadPath() {
    if (payload != null) {
      return payload.toPath();
    }
    File file = project.getArtifact() == null ? null : project.getArtifact().getFile();
    if (file == null || file.isDirectory()) {
      throw new ConfigurationException(ErrorCode.PAYLOAD_INVALID, "the project has no packaged main artifact to"
          + " release: run 'mvn package upgrade:release', or set <payload> to the file or directory to release");
    }
    return file.toPath();
  }

  private static Duration days(int days) {
    return Duration.ofDays(days);
  }

  private void summarize(ReleaseResult result) {
    String what = switch (result.status()) {
      case PUBLISHED -> "Released";
      case POINTER_UPDATED -> "Already published; moved channel " + result.channel() + " to";
      case UNCHANGED -> "Already published, nothing changed:";
    };
    getLog().info(what + " " + result.app() + " " + result.version() + " -> " + result.repository() + " (channel "
        + result.channel() + ", pointer sequence " + result.pointerSequence() + ")");
    getLog().info(String.format(Locale.ROOT, "  %-22s %12s", "full package", Sizes.of(result.packageBlob().size())));
    for (ReleaseResult.Delta delta : result.deltas()) {
      getLog().info(String.format(Locale.ROOT, "  %-22s %12s  %s of the full package", "delta from " + delta.fromVersion(),
          Sizes.of(delta.blob().size()), Sizes.percent(delta.ratio())));
    }
    getLog().info(result.verified()
        ? "  verified: every blob was applied and reproduced tree " + result.treeHash().substring(0, 12)
        : "  verified when it was published (tree " + result.treeHash().substring(0, 12) + ")");
    getLog().info(result.rollout() == null ? "  rollout: no plan (nodes install it as soon as they see it)"
        : "  rollout: " + RolloutSettings.describe(result.rollout()));
    getLog().info("  summary for CI: " + Path.of(project.getBuild().getDirectory(), "upgrade", "release.json"));
  }
}
