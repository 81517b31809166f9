package io.upgradekit.it;

import io.upgradekit.plugin.release.Event;
import io.upgradekit.plugin.release.KeyGenerator;
import io.upgradekit.plugin.release.ReleaseBuilder;
import io.upgradekit.plugin.release.ReleaseRequest;
import io.upgradekit.plugin.release.ReleaseResult;
import io.upgradekit.plugin.release.Repositories;
import io.upgradekit.plugin.release.RolloutSettings;
import io.upgradekit.plugin.release.SchemaDeltaEngine;
import io.upgradekit.plugin.release.SigningKeys;
import io.upgradekit.plugin.set.SetDescriptor;
import io.upgradekit.plugin.set.SetPublisher;
import io.upgradekit.plugin.set.SetRequest;
import io.upgradekit.plugin.set.SetResult;
import io.upgradekit.schema.sign.SigningKey;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Releases hello-service (or a component of the example shop) through the Maven plugin's library
 * ({@code ReleaseBuilder}), in this JVM: the same code {@code mvn upgrade:release} runs, minus
 * Maven's start-up and the build. Each version is a {@linkplain HelloDistributions#variant variant}
 * of the built distribution tree. For tests that need a repository with releases in it, not the
 * Maven experience (use {@link MavenReleaser} for that). {@link #publishSet} does what {@code mvn
 * upgrade:release-set} does.
 */
public final class LibraryReleaser implements Releaser {
  private final ServiceDistribution service;
  private final Path workDir;
  private final Path keyFile;
  private final String repository;
  private final String token;
  private final Path log;

  /**
   * @param baseDist a built hello-service distribution ({@link Artifacts#helloDist()})
   * @param workDir scratch space (payload trees, the plugin's work directory)
   * @param keyFile the release key file
   * @param repository a directory or repo-server's URL
   * @param token the publisher token for a URL, else null
   * @param log where the plugin's events are written
   */
  public LibraryReleaser(Path baseDist, Path workDir, Path keyFile, String repository, String token, Path log) {
    this(new ServiceDistribution("hello", baseDist, "hello-service-", HelloDistributions.BUILD_PROPERTIES,
        "bin/hello-service", "hello-service"), workDir, keyFile, repository, token, log);
  }

  /** Releases {@code service} (its app, variants of its built tree); the other parameters as above. */
  public LibraryReleaser(ServiceDistribution service, Path workDir, Path keyFile, String repository, String token,
      Path log) {
    this.service = service;
    this.workDir = workDir;
    this.keyFile = keyFile;
    this.repository = repository;
    this.token = token;
    this.log = log;
  }

  /**
   * What {@code mvn upgrade:keygen -Dupgrade.keyFile=KEY -Dupgrade.repository=REPO} does: a new release
   * key, and a first trust root in {@code repositoryDir} naming it for every role.
   */
  public static KeyGenerator.Result keygen(Path keyFile, Path repositoryDir, Path log) {
    try (PrintWriter out = writer(log)) {
      return new KeyGenerator(Clock.systemUTC(), render(out)).generate(
          new KeyGenerator.Request(keyFile, repositoryDir, null, KeyGenerator.DEFAULT_ROOT_LIFETIME));
    }
  }

  /** The tree {@link #release} publishes for {@code build}: {@code workDir/payloads/<version>}. */
  public Path payload(HelloBuild build) {
    Path tree = workDir.resolve("payloads").resolve(build.version() + (build.faulty() ? "-faulty" : ""));
    return Files.exists(tree) ? tree : HelloDistributions.variant(service, tree, build);
  }

  @Override
  public ReleaseResult release(HelloBuild build) {
    return release(build, null);
  }

  /**
   * Publishes {@code build} with a rollout plan: {@code rollout} is the pom's {@code <rollout>} as
   * the plugin reads it (text values such as {@code 75%} and {@code 10s}, checked by the plugin's own
   * {@link RolloutSettings#plan}); null for a release without a plan (nodes install it at once).
   */
  public ReleaseResult release(HelloBuild build, RolloutSettings rollout) {
    return release(build, rollout, null);
  }

  /**
   * Publishes {@code build} with a rollout plan that names the release set rolling it out ({@code
   * set}, null for none): such a release never starts by itself, it waits for the set's order.
   */
  public ReleaseResult release(HelloBuild build, RolloutSettings rollout, String set) {
    Path payload = payload(build);
    try (PrintWriter out = writer(log)) {
      Consumer<Event> events = render(out);
      SigningKey key = SigningKeys.load(keyFile, null, events);
      Path target = workDir.resolve("plugin");
      ReleaseRequest request = new ReleaseRequest(service.app(), build.version(), "stable", payload, repository, token, key,
          ReleaseRequest.DEFAULT_DELTA_COUNT, Clock.systemUTC().instant().truncatedTo(ChronoUnit.SECONDS),
          ReleaseRequest.DEFAULT_MANIFEST_LIFETIME, ReleaseRequest.DEFAULT_POINTER_LIFETIME, Map.of(),
          target.resolve("work"), target.resolve("release-" + build.version() + ".json"),
          ReleaseRequest.DEFAULT_POINTER_ATTEMPTS, rollout == null ? null
          : RolloutSettings.plan(rollout, Map.of()).withSet(set));
      out.println("release " + request);
      return new ReleaseBuilder(new SchemaDeltaEngine(events),
          (location, t) -> Repositories.open(location, t, workDir), Clock.systemUTC(), events).release(request);
    }
  }

  /**
   * What {@code mvn upgrade:release-set} does with a descriptor: checks the set and that every
   * component's release is published with a plan, then signs and publishes {@code
   * sets/<name>/<version>.json}.
   *
   * @param descriptor the descriptor's text ({@code release-set.yaml}: components, strategy, rollback_policy, contracts)
   */
  public static SetResult publishSet(Path keyFile, String repository, Path workDir, Path log, String name,
      String version, String descriptor) {
    try (PrintWriter out = writer(log)) {
      Consumer<Event> events = render(out);
      SigningKey key = SigningKeys.load(keyFile, null, events);
      SetRequest request = new SetRequest(name, version, SetDescriptor.parse(name + "-" + version + ".yaml",
          descriptor.getBytes(StandardCharsets.UTF_8)), repository, null, key,
          Clock.systemUTC().instant().truncatedTo(ChronoUnit.SECONDS), SetRequest.DEFAULT_LIFETIME,
          workDir.resolve("set-" + name + "-" + version + ".json"));
      out.println("release set " + request);
      return new SetPublisher((location, t) -> Repositories.open(location, t, workDir), Clock.systemUTC(), events)
          .publish(request);
    }
  }

  private static Consumer<Event> render(PrintWriter out) {
    return event -> {
      if (event instanceof Event.Info i) {
        out.println("[INFO] " + i.message());
      } else if (event instanceof Event.Warning w) {
        out.println("[WARNING] " + w.message());
      } else if (event instanceof Event.Detail d) {
        out.println("[DEBUG] " + d.message());
      }
    };
  }

  private static PrintWriter writer(Path log) {
    try {
      Files.createDirectories(log.toAbsolutePath().getParent());
      return new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND), true);
    } catch (IOException e) {
      throw new HarnessException("cannot write " + log + ": " + e, e);
    }
  }
}
