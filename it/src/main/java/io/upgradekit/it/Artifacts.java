package io.upgradekit.it;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Where the programs under test are: what the reactor built. Each path comes from a system property
 * (the failsafe configuration in {@code it/pom.xml} sets them all, pointing at {@code
 * it/target/artifacts/} and the example's {@code target/}), else from the source tree this class was
 * loaded from ({@code <root>/it/target/classes}), which is how {@code demo.sh} runs after {@code
 * mvnw install}.
 *
 * @param projectRoot the checkout (holds {@code mvnw})
 * @param repoServerJar repo-server's runnable jar
 * @param updaterDist node-updater's distribution tarball ({@code bin/updater}, {@code lib/node-updater.jar})
 * @param helloProject the example service's Maven project ({@code examples/hello-service})
 * @param helloDist the example's built distribution tree ({@code target/hello-service}: bin, lib, conf)
 * @param shopProject the example system's Maven project ({@code examples/shop}: database, cache, api,
 *     gateway, {@code release-set.yaml}); its components' trees are checked when first asked for
 * @param mavenLocalRepository for a nested Maven run: an isolated local repository holding this build's
 *     plugin (failsafe), or null to use the user's (after {@code mvnw install})
 * @param mavenRemoteRepository for a nested Maven run with an isolated local repository: the outer build's
 *     local repository, offered as a remote for third-party artifacts; null otherwise
 * @param logs where tests keep the logs of failed runs, or null
 */
public record Artifacts(
    Path projectRoot,
    Path repoServerJar,
    Path updaterDist,
    Path helloProject,
    Path helloDist,
    Path shopProject,
    Path mavenLocalRepository,
    Path mavenRemoteRepository,
    Path logs) {

  static final String PREFIX = "upgradekit.it.";

  /** From system properties, falling back to the source tree; checks that every file exists. */
  public static Artifacts locate() {
    Path root = path("projectRoot", null);
    if (root == null) {
      root = sourceTreeRoot();
    }
    root = root.toAbsolutePath().normalize();
    String version = version();
    Artifacts a = new Artifacts(root,
        path("repoServerJar", root.resolve("repo-server/target/repo-server-" + version + ".jar")),
        path("updaterDist", root.resolve("node-updater/target/node-updater-" + version + "-dist.tar.gz")),
        path("helloProject", root.resolve("examples/hello-service")),
        path("helloDist", root.resolve("examples/hello-service/target/hello-service")),
        path("shopProject", root.resolve("examples/shop")),
        path("mavenLocalRepository", null),
        path("mavenRemoteRepository", null),
        path("logs", null));
    a.check();
    return a;
  }

  /**
   * A component's built distribution tree ({@code examples/shop/<component>/target/<component>}).
   *
   * @throws HarnessException when it is not built
   */
  public Path shopDist(String component) {
    Path dist = shopProject.resolve(component).resolve("target").resolve(component);
    if (!Files.exists(dist.resolve("bin").resolve(component))) {
      throw new HarnessException("the example shop is not built: missing " + dist.resolve("bin").resolve(component)
          + ". Build it first: ./mvnw -B install -DskipTests -Dinvoker.skip (or run the tests with"
          + " ./mvnw -B -pl it -am verify)");
    }
    return dist;
  }

  /** The checkout's Maven wrapper. */
  public Path mvnw() {
    return projectRoot.resolve("mvnw");
  }

  /** The project version this harness was built with (that of every artifact). */
  public static String version() {
    try (InputStream in = Artifacts.class.getResourceAsStream("version.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      String v = p.getProperty("version");
      if (v == null || v.startsWith("${")) {
        throw new HarnessException("io/upgradekit/it/version.properties is missing or unfiltered: build with Maven");
      }
      return v;
    } catch (IOException e) {
      throw new HarnessException("cannot read version.properties: " + e, e);
    }
  }

  private void check() {
    List<String> missing = new ArrayList<>();
    for (Path p : List.of(mvnw(), repoServerJar, updaterDist, helloProject.resolve("pom.xml"),
        helloDist.resolve("bin/hello-service"))) {
      if (!Files.exists(p)) {
        missing.add(p.toString());
      }
    }
    if (!missing.isEmpty()) {
      throw new HarnessException("the programs under test are not built: missing " + String.join(", ", missing)
          + ". Build them first: ./mvnw -B install -DskipTests -Dinvoker.skip (or run the tests with"
          + " ./mvnw -B -pl it -am verify)");
    }
  }

  private static Path path(String name, Path fallback) {
    String value = System.getProperty(PREFIX + name);
    return value == null || value.isBlank() ? fallback : Path.of(value).toAbsolutePath().normalize();
  }

  /** {@code <root>/it/target/classes} (or the module's jar in {@code it/target}) → {@code <root>}. */
  private static Path sourceTreeRoot() {
    try {
      Path location = Path.of(Artifacts.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (Path p = location; p != null; p = p.getParent()) {
        if (Files.exists(p.resolve("mvnw")) && Files.isDirectory(p.resolve("it"))) {
          return p;
        }
      }
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      // fall through to the working directory
    }
    return Path.of("").toAbsolutePath();
  }
}
